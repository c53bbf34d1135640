package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"github.com/vimsim/vimsim/internal/atomicfile"
)

// slurmOptions are the flags of vimsim slurm.
type slurmOptions struct {
	shards                             int
	submit, force                      bool
	dir, vimsim, jobName               string
	partition, timeLimit, mem, account string
	cpus                               int
	sbatchArgs                         []string
}

func (o *slurmOptions) register(fl *pflag.FlagSet) {
	fl.IntVar(&o.shards, "shards", 0, "number of shards: the array's tasks (required)")
	fl.BoolVar(&o.submit, "submit", false, "submit the jobs with sbatch instead of printing how to")
	fl.BoolVar(&o.force, "force", false, "reuse a non-empty --job-dir, and let the merge job replace an existing --out")
	fl.StringVar(&o.dir, "job-dir", "", "directory of the scripts, partial results and logs (default vimsim-COMMAND-slurm)")
	fl.StringVar(&o.vimsim, "vimsim", "", "vimsim executable the jobs run (default: this one)")
	fl.StringVar(&o.jobName, "job-name", "", "job name (default vimsim-COMMAND)")
	fl.StringVar(&o.partition, "partition", "", "sbatch --partition of both jobs")
	fl.StringVar(&o.timeLimit, "time", "", "sbatch --time of both jobs")
	fl.IntVar(&o.cpus, "cpus-per-task", 0, "sbatch --cpus-per-task of each shard (and GOMAXPROCS)")
	fl.StringVar(&o.mem, "mem", "", "sbatch --mem of both jobs")
	fl.StringVar(&o.account, "account", "", "sbatch --account of both jobs")
	fl.StringArrayVar(&o.sbatchArgs, "sbatch-arg", nil, "another #SBATCH option of both jobs, e.g. --sbatch-arg=--qos=long (repeatable)")
}

func newSlurmCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "slurm COMMAND [COMMAND FLAGS] --shards N --out OUT [--submit]",
		Short: "Run a command in shards as a Slurm job array, and merge the shards in a dependent job",
		Long: `Writes two sbatch scripts into --job-dir: an array job whose task i runs
"vimsim COMMAND … --shard i/N" (reading SLURM_ARRAY_TASK_ID) and writes a
partial result, and a merge job that runs "vimsim merge" on the N partials
into the command's --out, once every shard has succeeded
(--dependency=afterok; a shard that fails or is cancelled leaves the merge
job unrun and cancelled). With --submit, vimsim submits both (sbatch
--parsable) and prints their job ids; without it, it writes submit.sh, which
does. COMMAND is one that takes --shard: eval, sim, sweep or explore (not
its --budget search, whose shards only fill a shared cache).

An existing non-empty --job-dir is refused without --force; --force also
lets the merge job replace an existing --out.

The jobs run in the current directory (relative paths stay valid) with the
vimsim executable given by --vimsim (default: this one), which must be
reachable from the compute nodes. --partition, --time, --mem, --account and
--sbatch-arg apply to both jobs, --cpus-per-task to the shards (and sets
their GOMAXPROCS). Logs go to --job-dir/logs.

Example:
  vimsim slurm eval --data imagefolder:/data/imagenet --model vim-ti.pth \
      --methods fp32,int8 --out imagenet.json --shards 50 \
      --partition cpu --cpus-per-task 8 --time 2:00:00 --submit`,
		DisableFlagParsing: true,
		RunE:               runSlurm,
	}
	// runSlurm parses its flags itself (the command's are mixed in); these
	// are registered for the help and the flag listings only.
	var doc slurmOptions
	doc.register(cmd.Flags())
	return cmd
}

// slurmJob is a planned pair of jobs.
type slurmJob struct {
	opt     slurmOptions
	command string   // eval, sim, …
	args    []string // the command's flags, without --out
	out     string   // the command's --out: the merge's
	cwd     string
}

func runSlurm(cmd *cobra.Command, args []string) error {
	var opt slurmOptions
	fl := pflag.NewFlagSet("slurm", pflag.ContinueOnError)
	opt.register(fl)
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprintf(cmd.OutOrStdout(), "%s\n\nUsage:\n  vimsim %s\n\nFlags:\n%s", cmd.Long, cmd.Use, fl.FlagUsages())
		if len(args) == 0 {
			return fmt.Errorf("slurm: which command? eval, sim, sweep, …")
		}
		return nil
	}
	job, err := planSlurm(cmd, &opt, fl, args)
	if err != nil {
		return err
	}
	scripts, err := job.write()
	if err != nil {
		return err
	}
	w := cmd.OutOrStdout()
	if !opt.submit {
		fmt.Fprintf(w, "wrote %s (%d shards) and %s; submit both with: bash %s\n", scripts.shards, opt.shards, scripts.merge, scripts.submit)
		return nil
	}
	shardID, mergeID, err := job.submitJobs(scripts)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "submitted job %s (array 0-%d: vimsim %s in %d shards) and job %s (vimsim merge into %s, afterok:%s); logs in %s\n",
		shardID, opt.shards-1, job.command, opt.shards, mergeID, job.out, shardID, filepath.Join(opt.dir, "logs"))
	return nil
}

// planSlurm separates vimsim slurm's flags from the command's and checks
// both.
func planSlurm(cmd *cobra.Command, opt *slurmOptions, fl *pflag.FlagSet, args []string) (*slurmJob, error) {
	name := args[0]
	root := cmd.Root()
	sub, _, err := root.Find([]string{name})
	if err != nil || sub == root || sub.Name() != name {
		return nil, fmt.Errorf("slurm: unknown command %q", name)
	}
	if sub.Flags().Lookup("shard") == nil {
		return nil, fmt.Errorf("slurm: vimsim %s does not run in shards (no --shard)", name)
	}
	// Our flags, wherever they are; the rest is the command's.
	var mine, rest []string
	for i := 1; i < len(args); i++ {
		a := args[i]
		fname, _, hasValue := strings.Cut(strings.TrimPrefix(a, "--"), "=")
		f := fl.Lookup(fname)
		if !strings.HasPrefix(a, "--") || f == nil {
			rest = append(rest, a)
			continue
		}
		mine = append(mine, a)
		if !hasValue && f.NoOptDefVal == "" && i+1 < len(args) {
			i++
			mine = append(mine, args[i])
		}
	}
	if err := fl.Parse(mine); err != nil {
		return nil, fmt.Errorf("slurm: %w", err)
	}
	switch {
	case opt.shards < 1:
		return nil, fmt.Errorf("slurm: --shards N is required (at least 1)")
	case opt.shards > 100000:
		return nil, fmt.Errorf("slurm: --shards %d: at most 100000", opt.shards)
	case opt.cpus < 0:
		return nil, fmt.Errorf("slurm: --cpus-per-task %d: must be positive", opt.cpus)
	}
	// The command's flags must parse, without --shard, with --out.
	job := &slurmJob{opt: *opt, command: name}
	if err := sub.ParseFlags(rest); err != nil {
		return nil, fmt.Errorf("slurm: vimsim %s: %w", name, err)
	}
	if len(sub.Flags().Args()) > 0 {
		return nil, fmt.Errorf("slurm: vimsim %s: unexpected argument %q", name, sub.Flags().Args()[0])
	}
	if sub.Flags().Changed("shard") {
		return nil, fmt.Errorf("slurm: leave --shard out: vimsim slurm gives every shard its own")
	}
	if name == "explore" {
		if sub.Flags().Changed("merge") {
			return nil, fmt.Errorf("slurm: leave --merge out: the merge job assembles the shards")
		}
		if sub.Flags().Changed("budget") {
			return nil, fmt.Errorf("slurm: vimsim explore --budget: the shards of a search only fill a shared cache, the search itself runs unsharded; run them by hand")
		}
	}
	if job.out = sub.Flags().Lookup("out").Value.String(); job.out == "" {
		return nil, fmt.Errorf("slurm: vimsim %s needs --out, where the merge job writes the result", name)
	}
	job.args = dropFlag(sub.Flags(), rest, "out")
	if job.cwd, err = os.Getwd(); err != nil {
		return nil, fmt.Errorf("slurm: %w", err)
	}
	if job.opt.dir == "" {
		job.opt.dir = "vimsim-" + name + "-slurm"
	}
	if job.opt.dir, err = filepath.Abs(job.opt.dir); err != nil {
		return nil, fmt.Errorf("slurm: --job-dir: %w", err)
	}
	if entries, err := os.ReadDir(job.opt.dir); err == nil && len(entries) > 0 && !job.opt.force {
		return nil, fmt.Errorf("slurm: --job-dir %s: directory is not empty (use --force to reuse it)", job.opt.dir)
	}
	if job.opt.jobName == "" {
		job.opt.jobName = "vimsim-" + name
	}
	if job.opt.vimsim == "" {
		if job.opt.vimsim, err = os.Executable(); err != nil {
			return nil, fmt.Errorf("slurm: the vimsim executable: %w (give --vimsim)", err)
		}
	}
	if job.opt.vimsim, err = filepath.Abs(job.opt.vimsim); err != nil {
		return nil, fmt.Errorf("slurm: --vimsim: %w", err)
	}
	for what, s := range map[string]string{"--job-dir": job.opt.dir, "the current directory": job.cwd, "--job-name": job.opt.jobName} {
		if s == "" || strings.ContainsAny(s, " \t\n\r%'\"\\") {
			return nil, fmt.Errorf("slurm: %s %q: sbatch options cannot hold spaces, quotes or %%", what, s)
		}
	}
	return job, nil
}

// dropFlag returns args without the flag name and its value.
func dropFlag(fs *pflag.FlagSet, args []string, name string) []string {
	f := fs.Lookup(name)
	var out []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			return append(out, args[i:]...)
		}
		long := a == "--"+name || strings.HasPrefix(a, "--"+name+"=")
		short := f.Shorthand != "" && (a == "-"+f.Shorthand || strings.HasPrefix(a, "-"+f.Shorthand+"="))
		if !long && !short {
			out = append(out, a)
			continue
		}
		if !strings.Contains(a, "=") && f.NoOptDefVal == "" {
			i++ // the value
		}
	}
	return out
}

// slurmScripts are the paths of the files vimsim slurm writes.
type slurmScripts struct{ shards, merge, submit string }

// partial returns the path of shard i's partial file.
func (j *slurmJob) partial(i int) string {
	return filepath.Join(j.opt.dir, "part-"+strconv.Itoa(i)+".json")
}

// header writes the #SBATCH lines both jobs share.
func (j *slurmJob) header(b *bytes.Buffer, name, log string) {
	fmt.Fprintf(b, "#!/bin/bash\n#SBATCH --job-name=%s\n#SBATCH --output=%s\n#SBATCH --chdir=%s\n", name, log, j.cwd)
	for _, kv := range [][2]string{{"partition", j.opt.partition}, {"time", j.opt.timeLimit}, {"mem", j.opt.mem}, {"account", j.opt.account}} {
		if kv[1] != "" {
			fmt.Fprintf(b, "#SBATCH --%s=%s\n", kv[0], kv[1])
		}
	}
	for _, a := range j.opt.sbatchArgs {
		fmt.Fprintf(b, "#SBATCH %s\n", a)
	}
}

// write writes the scripts into the job directory.
func (j *slurmJob) write() (slurmScripts, error) {
	logs := filepath.Join(j.opt.dir, "logs")
	if err := os.MkdirAll(logs, 0o755); err != nil {
		return slurmScripts{}, fmt.Errorf("slurm: --job-dir: %w", err)
	}
	s := slurmScripts{shards: filepath.Join(j.opt.dir, "shards.sbatch"), merge: filepath.Join(j.opt.dir, "merge.sbatch"),
		submit: filepath.Join(j.opt.dir, "submit.sh")}
	n := strconv.Itoa(j.opt.shards)
	command := shellJoin(append([]string{j.opt.vimsim, j.command}, j.args...))

	var b bytes.Buffer
	j.header(&b, j.opt.jobName, filepath.Join(logs, "shard-%a.out"))
	fmt.Fprintf(&b, "#SBATCH --array=0-%d\n", j.opt.shards-1)
	if j.opt.cpus > 0 {
		fmt.Fprintf(&b, "#SBATCH --cpus-per-task=%d\n", j.opt.cpus)
	}
	fmt.Fprintf(&b, "# Written by vimsim slurm: task i computes shard i/%s of\n#   vimsim %s %s --out %s\n", n, j.command, shellJoin(j.args), shellQuote(j.out))
	b.WriteString("set -euo pipefail\ni=${SLURM_ARRAY_TASK_ID:?not run as a Slurm array task}\n")
	b.WriteString("if [ -n \"${SLURM_CPUS_PER_TASK:-}\" ]; then export GOMAXPROCS=$SLURM_CPUS_PER_TASK; fi\n")
	fmt.Fprintf(&b, "dir=%s\nexec %s --shard \"$i/%s\" --out \"$dir/part-$i.json\"\n", shellQuote(j.opt.dir), command, n)
	shardScript := b.String()

	b.Reset()
	j.header(&b, j.opt.jobName+"-merge", filepath.Join(logs, "merge.out"))
	b.WriteString("#SBATCH --kill-on-invalid-dep=yes\n")
	fmt.Fprintf(&b, "# Written by vimsim slurm: merges the %s partial results once every shard has succeeded.\nset -euo pipefail\n", n)
	parts := make([]string, j.opt.shards)
	for i := range parts {
		parts[i] = j.partial(i)
	}
	force := ""
	if j.opt.force {
		force = " --force"
	}
	fmt.Fprintf(&b, "exec %s merge %s --out %s%s\n", shellQuote(j.opt.vimsim), shellJoin(parts), shellQuote(j.out), force)
	mergeScript := b.String()

	b.Reset()
	b.WriteString("#!/bin/bash\n# Written by vimsim slurm: submits the shards, then their merge once they all succeed.\nset -euo pipefail\n")
	fmt.Fprintf(&b, "rm -f %s/part-*.json\n", shellQuote(j.opt.dir))
	fmt.Fprintf(&b, "shards=$(sbatch --parsable %s)\nshards=${shards%%%%;*}\n", shellQuote(s.shards))
	fmt.Fprintf(&b, "merge=$(sbatch --parsable --dependency=afterok:$shards %s)\n", shellQuote(s.merge))
	b.WriteString("echo \"shards: job $shards, merge: job ${merge%%;*}\"\n")
	submitScript := b.String()

	for _, f := range []struct{ path, text string }{{s.shards, shardScript}, {s.merge, mergeScript}, {s.submit, submitScript}} {
		if err := atomicfile.WriteFile(f.path, []byte(f.text)); err != nil {
			return s, fmt.Errorf("slurm: %w", err)
		}
	}
	return s, nil
}

// submitJobs submits the shards and then the merge, after them; if the
// merge cannot be submitted, the shards are cancelled.
func (j *slurmJob) submitJobs(s slurmScripts) (shardID, mergeID string, err error) {
	old, _ := filepath.Glob(filepath.Join(j.opt.dir, "part-*.json"))
	for _, p := range old { // a previous run's partials must not stand in for this run's
		if err := os.Remove(p); err != nil {
			return "", "", fmt.Errorf("slurm: %w", err)
		}
	}
	if shardID, err = sbatch(s.shards); err != nil {
		return "", "", err
	}
	if mergeID, err = sbatch("--dependency=afterok:"+shardID, s.merge); err != nil {
		if out, cerr := exec.Command("scancel", shardID).CombinedOutput(); cerr != nil {
			return "", "", fmt.Errorf("%w; and scancel %s failed: %v %s", err, shardID, cerr, bytes.TrimSpace(out))
		}
		return "", "", fmt.Errorf("%w (shards job %s cancelled)", err, shardID)
	}
	return shardID, mergeID, nil
}

// sbatch runs sbatch --parsable and returns the job id.
func sbatch(args ...string) (string, error) {
	c := exec.Command("sbatch", append([]string{"--parsable"}, args...)...)
	var stderr bytes.Buffer
	c.Stderr = &stderr
	out, err := c.Output()
	if err != nil {
		msg := strings.Join(strings.Fields(stderr.String()), " ")
		return "", fmt.Errorf("slurm: sbatch %s: %v %s", args[len(args)-1], err, msg)
	}
	id, _, _ := strings.Cut(strings.TrimSpace(string(out)), ";")
	if _, err := strconv.Atoi(id); err != nil {
		return "", fmt.Errorf("slurm: sbatch %s printed %q, not a job id", args[len(args)-1], out)
	}
	return id, nil
}

// shellQuote quotes s for bash when it needs it.
func shellQuote(s string) string {
	plain := s != ""
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("_@%+=:,./-", r)) {
			plain = false
			break
		}
	}
	if plain {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// shellJoin quotes and joins words.
func shellJoin(words []string) string {
	q := make([]string, len(words))
	for i, w := range words {
		q[i] = shellQuote(w)
	}
	return strings.Join(q, " ")
}
