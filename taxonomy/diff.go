package taxonomy

import (
	"cmp"
	"slices"
)

// Nodes lists every node (scenes, touchpoints, dimensions) in id order.
func (t *Taxonomy) Nodes() []*Node {
	out := make([]*Node, 0, len(t.nodes))
	for _, n := range t.nodes {
		out = append(out, n)
	}
	slices.SortFunc(out, func(a, b *Node) int { return cmp.Compare(a.ID, b.ID) })
	return out
}

// NodeChange is one difference between two taxonomies.
type NodeChange struct {
	Node    string   `json:"node"`
	Change  string   `json:"change"` // added, removed or changed
	Name    string   `json:"name"`
	Fields  []string `json:"fields,omitempty"` // of a changed node: name, parent, rule
	OldRule string   `json:"old_rule,omitempty"`
	NewRule string   `json:"new_rule,omitempty"`
}

// Diff lists the nodes added, removed and changed from old to new, in id
// order.
func Diff(old, new *Taxonomy) []NodeChange {
	var out []NodeChange
	for _, n := range new.Nodes() {
		o, ok := old.nodes[n.ID]
		if !ok {
			out = append(out, NodeChange{Node: n.ID, Change: "added", Name: n.Name, NewRule: n.Rule})
			continue
		}
		var fields []string
		if o.Name != n.Name {
			fields = append(fields, "name")
		}
		if parentID(o) != parentID(n) || o.Dimension != n.Dimension {
			fields = append(fields, "parent")
		}
		if o.Rule != n.Rule {
			fields = append(fields, "rule")
		}
		if len(fields) > 0 {
			c := NodeChange{Node: n.ID, Change: "changed", Name: n.Name, Fields: fields}
			if o.Rule != n.Rule {
				c.OldRule, c.NewRule = o.Rule, n.Rule
			}
			out = append(out, c)
		}
	}
	for _, o := range old.Nodes() {
		if _, ok := new.nodes[o.ID]; !ok {
			out = append(out, NodeChange{Node: o.ID, Change: "removed", Name: o.Name, OldRule: o.Rule})
		}
	}
	slices.SortStableFunc(out, func(a, b NodeChange) int { return cmp.Compare(a.Node, b.Node) })
	return out
}

func parentID(n *Node) string {
	if n.Parent == nil {
		return ""
	}
	return n.Parent.ID
}
