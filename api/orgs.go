package api

import (
	"net/http"
	"slices"
	"strings"

	"github.com/labstack/echo/v4"

	"dongting/analyzer"
	"dongting/api/access"
	"dongting/index/rollup"
)

// OrgNode is one node of the org tree: a region, city or project.
type OrgNode struct {
	Path     string     `json:"path"`
	Name     string     `json:"name"`
	Level    int        `json:"level"` // 1 region, 2 city, 3 project
	Records  int64      `json:"records"`
	Children []*OrgNode `json:"children,omitempty"`
}

// orgs is GET /api/v1/orgs: the org tree of the caller's scope, from the
// rollups' live record counts per org node, for org pickers. A scoped key
// gets its own node as the root and nothing beside or above it.
func (s *Server) orgs(c echo.Context) error {
	scope := ""
	if k := keyOf(c); k != nil {
		scope = k.Scope
	}
	var counts map[string]int64
	if err := s.corpus.Rollups().View(func(v *rollup.View) error {
		counts = v.Orgs()
		return nil
	}); err != nil {
		return err
	}
	roots, total := orgTree(counts, scope)
	return c.JSON(http.StatusOK, map[string]any{"scope": scope, "records": total, "orgs": roots})
}

// orgTree builds the tree of the org paths under scope ("" for all), each
// level sorted by name; total is the records under scope.
func orgTree(counts map[string]int64, scope string) (roots []*OrgNode, total int64) {
	paths := make([]string, 0, len(counts))
	for p := range counts {
		if p != "" && analyzer.InScope(p, scope) {
			paths = append(paths, p)
		}
	}
	slices.Sort(paths) // a parent sorts before its children
	byPath := map[string]*OrgNode{}
	for _, p := range paths {
		parts := strings.Split(p, "/")
		n := &OrgNode{Path: p, Name: parts[len(parts)-1], Level: len(parts), Records: counts[p]}
		byPath[p] = n
		parent, ok := byPath[strings.Join(parts[:len(parts)-1], "/")]
		if ok && p != scope {
			parent.Children = append(parent.Children, n)
		} else {
			roots = append(roots, n)
		}
	}
	if scope != "" {
		return roots, counts[scope]
	}
	for _, r := range roots {
		total += r.Records
	}
	return roots, total
}

// me is GET /api/v1/me: the caller's key (never its secret) and what its
// role may do, so a client can check a key before keeping it and show
// only what the key may use.
func (s *Server) me(c echo.Context) error {
	k := keyOf(c)
	if k == nil { // keys not enforced: everything is open
		k = &access.Key{ID: "", Name: "", Role: access.Admin}
	}
	may := map[string]bool{}
	for p, name := range map[perm]string{read: "read", export: "export", act: "act", write: "write", adminRoot: "admin", curate: "curate"} {
		may[name] = mayDo(k, p)
	}
	return c.JSON(http.StatusOK, map[string]any{"id": k.ID, "name": k.Name, "role": k.Role, "scope": k.Scope, "may": may})
}
