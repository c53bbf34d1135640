"""A self-contained PyTorch implementation of the official Vision Mamba (hustvl/Vim).

Follows /work/shared/reference/vim-forward.md (section numbers below refer to it):
bimamba v2 mixer, middle cls token, absolute position embedding added after the cls
insertion, fused add + RMSNorm (eps 1e-5) pre-norm blocks, "div2" averaging of the two
directions, head on the cls token. Parameter names and state_dict order are the
official ones (§4), initialisation follows the official construction order (§5).

The selective scan is a loop over the sequence vectorised over batch, channels and states,
with a hand-written backward (L is small for the models trained here); it runs in float32
for training and in float64 for the fixture check.
"""
import math
from collections import OrderedDict

import torch
import torch.nn as nn
import torch.nn.functional as F

# Keys of the "config" metadata of a checkpoint (train.py writes them, predict.py reads them).
CONFIG_KEYS = ("img_size", "patch_size", "stride", "embed_dim", "depth", "d_state", "d_conv",
               "expand", "dt_rank", "channels", "num_classes", "norm_epsilon")


def linear_cl(x, weight, bias=None):
    """nn.Linear applied along dim 1 of a channel-first (B, C_in, L) tensor -> (B, C_out, L).

    Runs as a 1x1 convolution: Debian's torch links the reference BLAS, whose matmul is
    20-50x slower than the oneDNN convolution on this machine. Same math as x^T @ W^T + b.
    """
    return F.conv1d(x, weight.unsqueeze(-1), bias)


def rms_norm(x, weight, eps):
    """RMSNorm of the official Triton kernel: x / sqrt(mean(x^2) + eps) * w (no bias)."""
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * weight


def rms_norm_cf(x, weight, eps):
    """rms_norm over dim 1 of a channel-first (B, D, L) tensor."""
    return x * torch.rsqrt(x.pow(2).mean(1, keepdim=True) + eps) * weight[:, None]


class RMSNorm(nn.Module):
    """RMSNorm with a single weight (initialised to 1)."""

    def __init__(self, dim, eps=1e-5):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x):
        return rms_norm(x, self.weight, self.eps)


def selective_scan_ref(u, delta, A, Bm, Cm, Dv):
    """selective_scan_ref of the official code without z/bias (§3), the obvious way, per (b, e):
    h_t = exp(delta_t A) h_{t-1} + delta_t B_t u_t ;  y_t = C_t . h_t + D u_t.

    u, delta: (B, E, L); A: (E, N); Bm, Cm: (B, N, L); Dv: (E,). Returns y (B, E, L).
    Used by check_fixture.py to cross-check the fast scan below.
    """
    dA = torch.exp(torch.einsum("bel,en->beln", delta, A))
    dBu = torch.einsum("bel,bnl,bel->beln", delta, Bm, u)
    h = u.new_zeros(u.shape[0], u.shape[1], A.shape[1])
    ys = []
    for t in range(u.shape[2]):
        h = dA[:, :, t] * h + dBu[:, :, t]
        ys.append(torch.einsum("ben,bn->be", h, Cm[:, :, t]))
    return torch.stack(ys, dim=2) + u * Dv[None, :, None]


class _SelectiveScan(torch.autograd.Function):
    """The scan of selective_scan_ref (without the D skip) with a hand-written backward.

    Time-major loop over L; each step works on a (B, E, N) slab that stays in cache, and
    only the states h_t are stored for the backward pass. Contractions over N and E are
    done as mul + sum (Debian's torch links the reference BLAS: bmm is slow). Letting
    autograd record the loop instead costs a full-size gradient per sliced step.
    """

    @staticmethod
    def forward(ctx, u, delta, A, Bm, Cm):
        ut = u.permute(2, 0, 1).contiguous()                                # (L,B,E)
        dt = delta.permute(2, 0, 1).contiguous()                            # (L,B,E)
        Bt = Bm.permute(2, 0, 1).contiguous()                               # (L,B,N)
        Ct = Cm.permute(2, 0, 1).contiguous()                               # (L,B,N)
        du = dt * ut
        L, b, e = ut.shape
        hs = u.new_empty(L, b, e, A.shape[1])
        ys = u.new_empty(L, b, e)
        h = u.new_zeros(b, e, A.shape[1])
        tmp = torch.empty_like(h)
        for t in range(L):
            dA = torch.exp(dt[t].unsqueeze(-1) * A)
            h = torch.addcmul(du[t].unsqueeze(-1) * Bt[t].unsqueeze(1), dA, h, out=hs[t])
            torch.mul(h, Ct[t].unsqueeze(1), out=tmp)
            torch.sum(tmp, -1, out=ys[t])
        ctx.save_for_backward(ut, dt, A, Bt, Ct, hs)
        return ys.permute(1, 2, 0)

    @staticmethod
    def backward(ctx, gy):
        ut, dt, A, Bt, Ct, hs = ctx.saved_tensors
        gy = gy.permute(2, 0, 1).contiguous()                               # (L,B,E)
        L = ut.shape[0]
        du = dt * ut
        gh = torch.zeros_like(hs[0])                                         # dLoss/dh_t
        g_du, g_dt = torch.empty_like(ut), torch.empty_like(ut)
        gB, gC = torch.empty_like(Bt), torch.empty_like(Ct)
        gA = torch.zeros_like(hs[0])
        tmp = torch.empty_like(hs[0])
        for t in range(L - 1, -1, -1):
            torch.mul(hs[t], gy[t].unsqueeze(-1), out=tmp)
            torch.sum(tmp, 1, out=gC[t])
            gh = torch.addcmul(gh, gy[t].unsqueeze(-1), Ct[t].unsqueeze(1))
            torch.mul(gh, Bt[t].unsqueeze(1), out=tmp)
            torch.sum(tmp, -1, out=g_du[t])
            torch.mul(gh, du[t].unsqueeze(-1), out=tmp)
            torch.sum(tmp, 1, out=gB[t])
            dA = torch.exp(dt[t].unsqueeze(-1) * A)
            if t > 0:
                gX = gh * hs[t - 1]                                          # d/d(dA) ...
                gX.mul_(dA)                                                  # ... d/d(delta*A)
                torch.mul(gX, A, out=tmp)
                torch.sum(tmp, -1, out=g_dt[t])
                gA.addcmul_(gX, dt[t].unsqueeze(-1))
            else:
                g_dt[t].zero_()                                              # h_{-1} = 0
            gh = gh * dA
        g_u = g_du * dt
        g_dt.addcmul_(g_du, ut)
        return (g_u.permute(1, 2, 0), g_dt.permute(1, 2, 0), gA.sum(0),
                gB.permute(1, 2, 0), gC.permute(1, 2, 0))


def selective_scan(u, delta, A, Bm, Cm, Dv):
    """Fast equivalent of selective_scan_ref (same arguments and result)."""
    return _SelectiveScan.apply(u, delta, A, Bm, Cm) + u * Dv[None, :, None]


class Mamba(nn.Module):
    """Mamba mixer with bimamba_type "v2" and if_divide_out=True (§3)."""

    def __init__(self, d_model, d_state=16, d_conv=4, expand=2, dt_rank=None,
                 dt_min=0.001, dt_max=0.1, dt_init_floor=1e-4, dt_scale=1.0):
        super().__init__()
        self.d_model, self.d_state, self.d_conv = d_model, d_state, d_conv
        self.d_inner = expand * d_model
        self.dt_rank = math.ceil(d_model / 16) if dt_rank in (None, "auto") else int(dt_rank)
        E, N, R = self.d_inner, d_state, self.dt_rank

        # Parameters first (they precede sub-modules in the state_dict): A_log, D, A_b_log, D_b.
        A = torch.arange(1, N + 1, dtype=torch.float32).repeat(E, 1)
        self.A_log = nn.Parameter(torch.log(A))
        self.D = nn.Parameter(torch.ones(E))
        self.A_b_log = nn.Parameter(torch.log(A.clone()))
        self.D_b = nn.Parameter(torch.ones(E))

        # Sub-modules in the official construction (= RNG) order (§5).
        self.in_proj = nn.Linear(d_model, 2 * E, bias=False)
        self.conv1d = nn.Conv1d(E, E, d_conv, groups=E, padding=d_conv - 1, bias=True)
        self.x_proj = nn.Linear(E, R + 2 * N, bias=False)
        self.dt_proj = nn.Linear(R, E, bias=True)
        dt_init_std = R ** -0.5 * dt_scale
        nn.init.uniform_(self.dt_proj.weight, -dt_init_std, dt_init_std)
        dt = torch.exp(torch.rand(E) * (math.log(dt_max) - math.log(dt_min))
                       + math.log(dt_min)).clamp(min=dt_init_floor)
        inv_dt = dt + torch.log(-torch.expm1(-dt))                          # inverse softplus
        with torch.no_grad():
            self.dt_proj.bias.copy_(inv_dt)
        self.dt_proj.bias._no_reinit = True
        self.conv1d_b = nn.Conv1d(E, E, d_conv, groups=E, padding=d_conv - 1, bias=True)
        self.x_proj_b = nn.Linear(E, R + 2 * N, bias=False)
        self.dt_proj_b = nn.Linear(R, E, bias=True)
        self.out_proj = nn.Linear(E, d_model, bias=False)

    def branch(self, x, z, conv, x_proj, dt_proj, A_log, Dv, trace=None, tag=""):
        """One scan direction on (x, z) in scan order, both (B, E, L). Returns gated y (B,E,L)."""
        L = x.shape[-1]
        xc = F.silu(conv(x)[..., :L])                                        # causal depthwise conv
        x_dbl = linear_cl(xc, x_proj.weight)                                 # (B,R+2N,L)
        dt, Bm, Cm = torch.split(x_dbl, [self.dt_rank, self.d_state, self.d_state], dim=1)
        delta = F.softplus(linear_cl(dt, dt_proj.weight, dt_proj.bias))      # (B,E,L)
        A = -torch.exp(A_log)
        y = selective_scan(xc, delta, A, Bm, Cm, Dv) * F.silu(z)
        if trace is not None:
            trace[tag + "conv_silu"] = xc
            trace[tag + "x_dbl"] = x_dbl.transpose(1, 2)
            trace[tag + "delta"] = delta
            trace[tag + "y"] = y
        return y

    def forward(self, h, trace=None, prefix=""):
        """h: (B, D, L) channel-first; returns the mixer output (B, D, L)."""
        xz = linear_cl(h, self.in_proj.weight)                               # (B,2E,L)
        x, z = xz.chunk(2, dim=1)
        y_f = self.branch(x, z, self.conv1d, self.x_proj, self.dt_proj, self.A_log, self.D,
                          trace, prefix + "fwd.")
        y_b = self.branch(x.flip(-1), z.flip(-1), self.conv1d_b, self.x_proj_b, self.dt_proj_b,
                          self.A_b_log, self.D_b, trace, prefix + "bwd.")
        y = (y_f + y_b.flip(-1)) / 2                                         # (B,E,L)
        if trace is not None:
            trace[prefix + "xz"] = xz
            trace[prefix + "y_comb"] = y.transpose(1, 2)
        return linear_cl(y, self.out_proj.weight)


class Block(nn.Module):
    """Pre-norm block with fused add + RMSNorm (§2 step 4), on channel-first (B, D, L)."""

    def __init__(self, dim, eps, **mixer_kw):
        super().__init__()
        self.mixer = Mamba(dim, **mixer_kw)
        self.norm = RMSNorm(dim, eps)

    def forward(self, hidden, residual, trace=None, prefix=""):
        residual = hidden if residual is None else residual + hidden
        h = rms_norm_cf(residual, self.norm.weight, self.norm.eps)
        out = self.mixer(h, trace, prefix + "mixer.")
        if trace is not None:
            trace[prefix + "residual"] = residual.transpose(1, 2)
            trace[prefix + "norm_out"] = h.transpose(1, 2)
            trace[prefix + "out"] = out.transpose(1, 2)
        return out, residual


class PatchEmbed(nn.Module):
    """Conv2d patch embedding, patches in row-major order, norm = Identity."""

    def __init__(self, img_size, patch_size, stride, in_chans, embed_dim):
        super().__init__()
        self.img_size = tuple(img_size)
        self.grid = ((self.img_size[0] - patch_size) // stride + 1,
                     (self.img_size[1] - patch_size) // stride + 1)
        self.num_patches = self.grid[0] * self.grid[1]
        self.proj = nn.Conv2d(in_chans, embed_dim, kernel_size=patch_size, stride=stride)

    def forward(self, x):
        if tuple(x.shape[-2:]) != self.img_size:
            raise ValueError(f"input size {tuple(x.shape[-2:])} != model size {self.img_size}")
        return self.proj(x).flatten(2).transpose(1, 2)


def _trunc_normal_(t, std):
    # timm 0.4.12 trunc_normal_(t, std=std): mean 0, cut at +-2 absolute.
    nn.init.trunc_normal_(t, mean=0.0, std=std, a=-2.0, b=2.0)


class VisionMamba(nn.Module):
    """Official Vim (bimamba v2, middle cls token, abs pos embed, div2)."""

    def __init__(self, img_size=224, patch_size=16, stride=16, embed_dim=192, depth=24,
                 d_state=16, d_conv=4, expand=2, dt_rank=None, channels=3, num_classes=1000,
                 norm_epsilon=1e-5):
        super().__init__()
        if isinstance(img_size, int):
            img_size = (img_size, img_size)
        self.config = OrderedDict(
            img_size=list(img_size), patch_size=patch_size, stride=stride, embed_dim=embed_dim,
            depth=depth, d_state=d_state, d_conv=d_conv, expand=expand,
            dt_rank=math.ceil(embed_dim / 16) if dt_rank in (None, "auto") else int(dt_rank),
            channels=channels, num_classes=num_classes, norm_epsilon=norm_epsilon)
        # Parameters first (state_dict order: cls_token, pos_embed, patch_embed, head, layers, norm_f).
        patch = PatchEmbed(img_size, patch_size, stride, channels, embed_dim)   # RNG: Conv2d default
        M = patch.num_patches
        self.num_patches = M
        self.cls_position = M // 2
        self.cls_token = nn.Parameter(torch.zeros(1, 1, embed_dim))
        self.pos_embed = nn.Parameter(torch.zeros(1, M + 1, embed_dim))
        self.patch_embed = patch
        self.head = nn.Linear(embed_dim, num_classes)                           # RNG: Linear default
        self.layers = nn.ModuleList([
            Block(embed_dim, norm_epsilon, d_state=d_state, d_conv=d_conv, expand=expand,
                  dt_rank=self.config["dt_rank"]) for _ in range(depth)])
        self.norm_f = RMSNorm(embed_dim, norm_epsilon)

        # Official re-initialisation (§5).
        with torch.no_grad():
            w = self.patch_embed.proj.weight                                    # lecun_normal_
            fan_in = w.shape[1] * w.shape[2] * w.shape[3]
            _trunc_normal_(w, math.sqrt(1.0 / fan_in) / .87962566103423978)
            self.patch_embed.proj.bias.zero_()
            _trunc_normal_(self.head.weight, .02)
            self.head.bias.zero_()
            _trunc_normal_(self.pos_embed, .02)
            _trunc_normal_(self.cls_token, .02)
            # _init_weights(n_layer=depth) applied module by module (children first).
            for m in self.modules_post_order():
                if isinstance(m, nn.Linear) and m.bias is not None \
                        and not getattr(m.bias, "_no_reinit", False):
                    m.bias.zero_()
                if isinstance(m, Mamba):
                    nn.init.kaiming_uniform_(m.out_proj.weight, a=math.sqrt(5))
                    m.out_proj.weight /= math.sqrt(depth)

    def modules_post_order(self):
        """Modules in the order nn.Module.apply visits them (children before parent)."""
        def rec(m):
            for c in m.children():
                yield from rec(c)
            yield m
        return list(rec(self))

    def forward_features(self, img, trace=None):
        p = self.patch_embed(img)                                           # (B,M,D)
        tp = self.cls_position
        cls = self.cls_token.expand(p.shape[0], -1, -1)
        x = torch.cat([p[:, :tp], cls, p[:, tp:]], dim=1) + self.pos_embed
        if trace is not None:
            trace["patch_embed"] = p
            trace["tokens"] = x
        hidden, residual = x.transpose(1, 2), None                          # (B,D,L) inside blocks
        for i, layer in enumerate(self.layers):
            hidden, residual = layer(hidden, residual, trace, f"layers.{i}.")
        residual = residual + hidden
        h = rms_norm_cf(residual, self.norm_f.weight, self.norm_f.eps)
        feat = h[:, :, tp]
        if trace is not None:
            trace["final_residual"] = residual.transpose(1, 2)
            trace["final_norm"] = h.transpose(1, 2)
            trace["features"] = feat
        return feat

    def forward(self, img, trace=None):
        return self.head(self.forward_features(img, trace))


def from_config(cfg):
    """Build a VisionMamba from a checkpoint "config" dict (CONFIG_KEYS, extra keys ignored)."""
    img = cfg["img_size"]
    return VisionMamba(
        img_size=tuple(img) if isinstance(img, (list, tuple)) else (img, img),
        patch_size=cfg["patch_size"], stride=cfg.get("stride", cfg["patch_size"]),
        embed_dim=cfg["embed_dim"], depth=cfg["depth"], d_state=cfg["d_state"],
        d_conv=cfg.get("d_conv", 4), expand=cfg.get("expand", 2), dt_rank=cfg.get("dt_rank"),
        channels=cfg.get("channels", 3), num_classes=cfg["num_classes"],
        norm_epsilon=cfg.get("norm_epsilon", 1e-5))
