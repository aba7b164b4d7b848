package analyzer

import "dongting/taxonomy"

// TagParents are the ancestors a stored tag counts under: the ones recorded
// with it (an empty list for a root), so a record counts where it was
// counted when it was tagged even after the taxonomy changed; for a tag
// stored before tags carried them (nil), the ancestors in tax.
func TagParents(tg Tag, tax *taxonomy.Taxonomy) []string {
	if tg.Parents != nil {
		return tg.Parents
	}
	var ids []string
	if n, ok := tax.Node(tg.ID); ok {
		for p := n.Parent; p != nil; p = p.Parent {
			ids = append(ids, p.ID)
		}
	}
	return ids
}
