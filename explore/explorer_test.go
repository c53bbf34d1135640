package explore

import (
	"bytes"
	"context"
	"testing"
)

func TestRunSmoke(t *testing.T) {
	m := toyModel(t)
	x := newTestExplorer(t, m, 12, 5, nil)
	sp := testSpace(t, m, "W8A8H8,W4A8H8", "zcu102")
	p, err := x.Run(context.Background(), sp)
	if err != nil {
		t.Fatal(err)
	}
	tab, err := Assemble([]*Partial{p})
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := tab.WriteCSV(&b); err != nil {
		t.Fatal(err)
	}
	t.Log(b.String())
	b.Reset()
	tab.WriteJSON(&b)
	t.Log(b.String()[:2000])
}
