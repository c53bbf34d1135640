package explore

// Progress is told how a long run advances: stages (calibrate, evaluate,
// cost) of a known number of steps. It is called from the goroutine that
// called Run. A nil Progress is told nothing.
//
// cmd/vimsim draws it on a terminal; it is the seam for the shared
// internal/progress package (issue 15).
type Progress interface {
	// Start begins a stage of total steps (the unit is the stage's:
	// recipes, images, designs).
	Start(stage string, total int)
	// Add reports n more steps of the stage done.
	Add(n int)
	// Finish ends the stage.
	Finish()
}

// quiet is the Progress that reports nothing.
type quiet struct{}

func (quiet) Start(string, int) {}
func (quiet) Add(int)           {}
func (quiet) Finish()           {}
