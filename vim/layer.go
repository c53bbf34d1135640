package vim

import "strconv"

// LayerName is the display name of a layer index as Op.Layer holds it:
// "embed" (LayerEmbed), "head" (LayerHead) or the block number.
func LayerName(layer int) string {
	switch layer {
	case LayerEmbed:
		return "embed"
	case LayerHead:
		return "head"
	}
	return strconv.Itoa(layer)
}
