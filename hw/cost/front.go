package cost

// MarkFront sets the Pareto field of every design of a sweep, as Sweep
// does: for the designs of a sharded sweep, evaluated in parts and
// marked together.
func MarkFront(pts []DesignPoint) { markFront(pts) }
