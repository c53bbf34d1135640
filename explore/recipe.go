package explore

import (
	"fmt"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	yaml "go.yaml.in/yaml/v3"

	"github.com/vimsim/vimsim/quant"
)

// Recipe is a precision recipe of the space, resolved for the model.
type Recipe struct {
	Name      string
	Precision quant.Precision
	Plan      quant.Plan
}

// uniformName matches the name of a uniform recipe, "W8A8H16" or "W4A8"
// (hidden state at the activation bits), in any case.
var uniformName = regexp.MustCompile(`^[wW](\d+)[aA](\d+)(?:[hH](\d+))?$`)

// ParseRecipe parses one item of a recipe list: the name of a uniform
// recipe ("W8A8H8", "W4A8H8", "W8A8H16"; "W4A8" has its hidden state at the
// activation bits) or the path of a recipe file (.yaml, .yml or .json, see
// quant.ParsePrecision).
func ParseRecipe(s string) (quant.Precision, error) {
	s = strings.TrimSpace(s)
	if m := uniformName.FindStringSubmatch(s); m != nil {
		w, _ := strconv.Atoi(m[1])
		a, _ := strconv.Atoi(m[2])
		h := a
		if m[3] != "" {
			h, _ = strconv.Atoi(m[3])
		}
		p := quant.Uniform(w, a, h)
		p.Name = quant.UniformName(w, a, h)
		if err := p.Validate(); err != nil {
			return quant.Precision{}, err
		}
		return p, nil
	}
	switch strings.ToLower(filepath.Ext(s)) {
	case ".yaml", ".yml", ".json":
		return quant.ReadPrecision(s)
	}
	return quant.Precision{}, fmt.Errorf("recipe %q: want a uniform recipe such as W8A8H8 or a recipe file (.yaml, .yml, .json)", s)
}

// ParseRecipes parses a comma-separated recipe list (see ParseRecipe).
func ParseRecipes(list string) ([]quant.Precision, error) {
	var out []quant.Precision
	for _, item := range strings.Split(list, ",") {
		if strings.TrimSpace(item) == "" {
			return nil, fmt.Errorf("recipe list %q: empty item", list)
		}
		p, err := ParseRecipe(item)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

// Resolve resolves recipes for a model of depth blocks. Two recipes with
// the same name, or with the same precisions under two names, are refused.
func Resolve(ps []quant.Precision, depth int) ([]Recipe, error) {
	if len(ps) == 0 {
		return nil, fmt.Errorf("no recipe")
	}
	out := make([]Recipe, len(ps))
	byName := map[string]int{}
	byPlan := map[string]int{}
	for i, p := range ps {
		plan, err := p.Resolve(depth)
		if err != nil {
			return nil, err
		}
		r := Recipe{Name: p.String(), Precision: p, Plan: plan}
		if j, ok := byName[r.Name]; ok {
			return nil, fmt.Errorf("recipe %s given twice (items %d and %d)", r.Name, j+1, i+1)
		}
		k := plan.Key()
		if j, ok := byPlan[k]; ok {
			return nil, fmt.Errorf("recipes %s and %s set the same precisions", out[j].Name, r.Name)
		}
		byName[r.Name], byPlan[k] = i, i
		out[i] = r
	}
	return out, nil
}

// MarshalRecipe returns p as a YAML recipe file that quant.ParsePrecision
// reads back to the same recipe.
func MarshalRecipe(p quant.Precision) ([]byte, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	b, err := yaml.Marshal(p)
	if err != nil {
		return nil, fmt.Errorf("recipe %s: %w", p, err)
	}
	return b, nil
}
