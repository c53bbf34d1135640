// Package explore searches the joint space of precision recipes and
// accelerator architectures: which quantization choices and which hardware,
// together, give the best accuracy per joule, per millisecond and per DSP.
//
// A run measures every recipe's accuracy on the bit-accurate integer
// datapath (each recipe is calibrated and compiled once, then run on the
// evaluation images; accuracy does not depend on the architecture) and
// costs every (recipe, architecture) pair with the cost model on the
// recipe's op list. The work is a fixed list of jobs — one per (recipe,
// chunk of images) and one per (recipe, block of designs) — each stored as
// one atomic cache entry, so that an interrupted run restarted with the
// same cache redoes only what is missing, and a shard (Shard) of the list
// can run on another machine into a shared cache. Results do not depend on
// GOMAXPROCS: every sum runs in image and chunk order.
//
// The pieces a run plugs together are interfaces: an Evaluator (model,
// calibration, datapath) that compiles a recipe into an integer program and
// runs it, and a Coster that prices a recipe on an architecture. Datapath
// and OpCoster are vimsim's.
//
// Search finds a recipe under a budget (energy, latency or DSPs on one
// architecture): it measures the sensitivity of every single precision move
// (one op class to 4-bit weights, one layer's hidden state to 8 bits) on the
// datapath, then allocates bits by an exact knapsack over the moves when
// they are few and greedily otherwise.
package explore
