// vimsim testbench common pieces (docs/RTL.md §9.3), included by every
// tb/tb_*.sv. Macros:
//   `TB_CLOCK                 clk (10 ns period) and the active-low reset rst_n
//   `TB_PLUSARGS(TOP, VCD)    +hexdir=DIR into hexdir (default "."); with
//                             +vcd[=FILE] dump TOP to FILE (default VCD)
//   `TB_RNG                   (module item) a xorshift32 generator, the same
//                             sequence under every simulator: tasks
//                             tb_rand(r) (next 32-bit word), tb_gap(n) (idle
//                             cycles before a beat: 0, or 1..3 with
//                             probability 1/8) and tb_junk(v) (TB_JUNK_BITS
//                             bits of junk for the inputs of an idle cycle)
//   `TB_CHECK_BIT(SIG, NAME)  (in a posedge process with `cyc`) fail when
//                             SIG is X/Z after the first reset edge, or high
//                             while rst_n is low
//   `TB_VERDICT(N)            $fatal on errors, flag errors or timing errors,
//                             else "PASS: N vectors" and $finish
// Streaming units (one input per in_valid, outputs LAT edges later; the
// testbench declares LAT, WDOG, MAX_SHOW, `integer t_in[]`, nin, gap and a
// task drive_junk that puts junk on every input):
//   `TB_RESET_JUNK            reset for 3 cycles with in_valid high and junk
//                             inputs (ignored), then in_valid low
//   `TB_STREAM_IN(CNT, TOTAL) (monitor) X/reset checks of out_valid, the
//                             watchdog, and the edge of every input taken
//   `TB_LATENCY(IDX, WHAT)    (monitor, on out_valid) output IDX must come
//                             LAT edges after input IDX
//   `TB_GAP                   (driver) tb_gap idle cycles with junk
//   `TB_END_STREAM(CNT, TOTAL) (driver) stop, wait for TOTAL outputs and
//                             LAT + 2 more cycles, verdict
// GEMM engines (phase 0 between folds, 1 taking beats, 2 after the last):
//   `TB_FOLD_DONE(OK, NOTE)   (monitor, on fold_done) the fold lasted
//                             FOLD_CYCLES + its bubbles and OK holds
//   `TB_FOLD_IDLE             (monitor, no beat taken) count a bubble or an
//                             idle cycle between folds
//   `TB_GEMM_VERDICT          compare c_got with c_exp, print CYCLES/IDLE,
//                             check fold0 and total against the cycle model
//   `TB_BEAT_OR_GAP(F0, MORE) (driver, after a beat was taken and the next
//                             position computed) unless the next beat's fold
//                             runs back to back (F0), idle tb_gap cycles with
//                             junk, then put_next (if MORE); the driver
//                             declares g, gap and tasks put_junk/put_next
//   `TB_BUBBLY(F, FOLDS)      fold F of FOLDS gets bubbles: folds 1 .. 8 and
//                             the last (fold 0 measures the back-to-back
//                             count; the bulk of a big GEMM runs back to back)
//   `TB_GEMM_RESET_JUNK       reset for 3 cycles offering junk beats
//   `TB_ADVANCE3(X, NX, LX, Y, NY, LY, Z, NZ, LZ)
//                             (driver) the position after (X, Y, Z), Z
//                             innermost, counting to LX, LY, LZ, into NX,
//                             NY, NZ; driven when the last was taken
//   `TB_GEMM_READ             read a.in.hex, w.in.hex, c.exp.hex
//   `TB_GEMM_PUT_JUNK         (module item) reg junk and task put_junk:
//                             junk on in_a, in_w, in_last (non-blocking)
// The including testbench declares `string hexdir, vcdfile;` and
// `integer errors, ferrors, terrors` (value, flag and timing/protocol
// errors) and `integer cyc` (rising edges since time 0).
`ifndef TB_COMMON_SVH
`define TB_COMMON_SVH

`define TB_JUNK_BITS 8192

`define TB_CLOCK \
    reg clk = 1'b0; \
    reg rst_n = 1'b0; \
    always #5 clk = ~clk;

`define TB_PLUSARGS(TOP, VCD) \
        if (!$value$plusargs("hexdir=%s", hexdir)) \
            hexdir = "."; \
        if ($test$plusargs("vcd")) begin \
            if (!$value$plusargs("vcd=%s", vcdfile)) \
                vcdfile = VCD; \
            $dumpfile(vcdfile); \
            $dumpvars(0, TOP); \
        end

`define TB_RNG \
    reg [31:0] tb_state = 32'h2545f491; \
    task tb_rand(output reg [31:0] r); \
        begin \
            tb_state = tb_state ^ (tb_state << 13); \
            tb_state = tb_state ^ (tb_state >> 17); \
            tb_state = tb_state ^ (tb_state << 5); \
            r = tb_state; \
        end \
    endtask \
    task tb_gap(output integer n); \
        reg [31:0] r; \
        begin \
            tb_rand(r); \
            n = (r[2:0] == 3'd0) ? 1 + {30'd0, r[9:8]} % 3 : 0; \
        end \
    endtask \
    task tb_junk(output reg [`TB_JUNK_BITS-1:0] v); \
        reg [31:0] r0, r1; \
        begin \
            tb_rand(r0); \
            tb_rand(r1); \
            v = {(`TB_JUNK_BITS/64){r0, r1}}; \
        end \
    endtask

`define TB_CHECK_BIT(SIG, NAME) \
        if (cyc > 0 && (SIG) !== 1'b0 && (SIG) !== 1'b1) \
            $fatal(1, "FAIL: %s is %b at cycle %0d", NAME, SIG, cyc); \
        if (cyc > 0 && rst_n !== 1'b1 && (SIG) === 1'b1) \
            $fatal(1, "FAIL: %s is high during reset (cycle %0d)", NAME, cyc);

`define TB_VERDICT(N) \
        if (errors != 0 || ferrors != 0 || terrors != 0) \
            $fatal(1, "FAIL: %0d/%0d mismatches, %0d flag mismatches, %0d timing errors", errors, N, ferrors, terrors); \
        $display("PASS: %0d vectors", N); \
        $finish;

`define TB_RESET_JUNK \
        in_valid = 1'b1; \
        drive_junk; \
        repeat (3) @(negedge clk); \
        rst_n    = 1'b1; \
        in_valid = 1'b0;

`define TB_STREAM_IN(CNT, TOTAL) \
        `TB_CHECK_BIT(out_valid, "out_valid") \
        if (cyc > WDOG) \
            $fatal(1, "FAIL: watchdog after %0d cycles (%0d of %0d outputs)", cyc, CNT, TOTAL); \
        if (rst_n && in_valid) begin \
            t_in[nin] = cyc; \
            nin = nin + 1; \
        end

`define TB_LATENCY(IDX, WHAT) \
            if (IDX >= nin) \
                $fatal(1, "FAIL: output %s %0d at cycle %0d before its input", WHAT, IDX, cyc); \
            if (cyc != t_in[IDX] + LAT) begin \
                if (terrors < MAX_SHOW) \
                    $display("TIMING %s=%0d output at edge %0d, input at edge %0d: latency %0d, want %0d", WHAT, IDX, \
                             cyc, t_in[IDX], cyc - t_in[IDX], LAT); \
                terrors = terrors + 1; \
            end

`define TB_GAP \
            tb_gap(gap); \
            repeat (gap) begin \
                @(negedge clk); \
                in_valid = 1'b0; \
                drive_junk; \
            end

`define TB_END_STREAM(CNT, TOTAL) \
        @(negedge clk); \
        in_valid = 1'b0; \
        drive_junk; \
        wait (CNT == TOTAL); \
        repeat (LAT + 2) @(negedge clk); \
        `TB_VERDICT(TOTAL)

`define TB_FOLD_DONE(OK, NOTE) \
        if (fold_done === 1'b1) begin \
            if (phase != 2) \
                $fatal(1, "FAIL: fold_done at cycle %0d before the fold's last beat", cyc); \
            if (cyc - t_first != FOLD_CYCLES + bubbles || !(OK)) begin \
                if (terrors < MAX_SHOW) \
                    $display("TIMING fold %0d: fold_done at edge %0d, first beat at edge %0d: %0d cycles with %0d bubbles, want %0d + %0d%s", \
                             ndone, cyc, t_first, cyc - t_first, bubbles, FOLD_CYCLES, bubbles, NOTE); \
                terrors = terrors + 1; \
            end \
            if (ndone == 0) \
                fold0 = cyc - t_first; \
            total = total + (cyc - t_first - bubbles); \
            ndone = ndone + 1; \
            phase = 0; \
        end

`define TB_FOLD_IDLE \
        if (rst_n && running && !driven && !(in_valid && in_ready)) begin \
            if (phase == 1) \
                bubbles = bubbles + 1; \
            else if (phase == 0) \
                idle_between = idle_between + 1; \
        end

`define TB_GEMM_VERDICT \
        errors = 0; \
        for (i = 0; i < M * N; i = i + 1) begin \
            if (c_got[i] !== c_exp[i]) begin \
                if (errors < MAX_SHOW) \
                    $display("MISMATCH index=%0d (m=%0d n=%0d) got=%0d (%h) exp=%0d (%h)", i, i / N, i % N, \
                             $signed(c_got[i]), c_got[i], $signed(c_exp[i]), c_exp[i]); \
                errors = errors + 1; \
            end \
        end \
        $display("CYCLES: fold=%0d total=%0d (model fold=%0d total=%0d)", fold0, total, FOLD_CYCLES, TOTAL_CYCLES); \
        $display("IDLE: %0d cycles between folds", idle_between); \
        if (total != TOTAL_CYCLES || fold0 != FOLD_CYCLES) begin \
            $display("TIMING fold=%0d total=%0d, cycle model fold=%0d total=%0d", fold0, total, FOLD_CYCLES, TOTAL_CYCLES); \
            terrors = terrors + 1; \
        end \
        `TB_VERDICT(M * N)

`define TB_BUBBLY(F, FOLDS) ((F) > 0 && ((F) <= 8 || (F) == (FOLDS) - 1))

`define TB_BEAT_OR_GAP(F0, MORE) \
                g = 0; \
                if (!(F0)) \
                    tb_gap(g); \
                gap <= g; \
                if (g > 0) \
                    put_junk; \
                else if (MORE) \
                    put_next; \
            end else if (gap > 0) begin \
                gap <= gap - 1; \
                if (gap == 1) \
                    put_next; \
                else \
                    put_junk;

`define TB_GEMM_RESET_JUNK \
        running = 1'b1; \
        tb_junk(junk); \
        in_a    = junk[R*8-1:0]; \
        in_w    = junk[R*8+C*8-1:R*8]; \
        in_last = junk[R*8+C*8]; \
        repeat (3) @(negedge clk); \
        running = 1'b0;

`define TB_ADVANCE3(X, NX, LX, Y, NY, LY, Z, NZ, LZ) \
                NX = X; \
                NY = Y; \
                NZ = Z + 1; \
                if (Z == LZ - 1) begin \
                    NZ = 0; \
                    if (Y == LY - 1) begin \
                        NY = 0; \
                        if (X == LX - 1) \
                            driven <= 1'b1; \
                        else \
                            NX = X + 1; \
                    end else begin \
                        NY = Y + 1; \
                    end \
                end

`define TB_GEMM_READ \
        $readmemh({hexdir, "/a.in.hex"}, a_m); \
        $readmemh({hexdir, "/w.in.hex"}, w_m); \
        $readmemh({hexdir, "/c.exp.hex"}, c_exp); \
        ferrors = 0;

`define TB_GEMM_PUT_JUNK \
    reg [`TB_JUNK_BITS-1:0] junk; \
    task put_junk; \
        begin \
            tb_junk(junk); \
            in_a    <= junk[R*8-1:0]; \
            in_last <= junk[R*8]; \
            tb_junk(junk); \
            in_w    <= junk[C*8-1:0]; \
        end \
    endtask

`endif

// TB_NARROW(DST, SRC, LANES, BITS): DST (LANES*BITS bits) takes the low
// BITS bits of each 8-bit lane of SRC: the int4 weights and taps of a set
// with `define VIMSIM_WBITS 4 are stored as sign-extended 8-bit words
// (DATAPATH.md §15.2-15.3).
`define TB_NARROW(DST, SRC, LANES, BITS) \
    wire [(LANES)*(BITS)-1:0] DST; \
    genvar DST``_j; \
    generate \
        for (DST``_j = 0; DST``_j < (LANES); DST``_j = DST``_j + 1) begin : g_``DST \
            assign DST[(BITS)*DST``_j +: (BITS)] = SRC[8*DST``_j +: (BITS)]; \
        end \
    endgenerate
