package quant

// CombLayer exposes combLayer to the external tests.
var CombLayer = combLayer
