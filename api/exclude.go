package api

import (
	"fmt"
	"strings"

	"github.com/labstack/echo/v4"

	"dongting/index/fulltext"
)

// excludes reads exclude=facet:value (repeated or comma-separated): values
// a hit may not have, checked like the include filters (taxonomy nodes
// must exist, sentiment and severity are one of theirs).
func (s *Server) excludes(c echo.Context, q *fulltext.Query) error {
	tax := s.an().Taxonomy()
	for _, v := range list(c, "exclude") {
		f, val, ok := strings.Cut(v, ":")
		if !ok || val == "" {
			return badParam("exclude", fmt.Sprintf("%q is not facet:value (e.g. channel:400)", v))
		}
		switch f {
		case "scene", "touchpoint", "dimension":
			if _, ok := tax.Node(val); !ok {
				return badParam("exclude", fmt.Sprintf("no taxonomy node %q (see /api/v1/taxonomy)", val))
			}
		case "sentiment":
			if err := oneOf("exclude", []string{val}, []string{"negative", "neutral", "positive"}); err != nil {
				return err
			}
		case "severity":
			if err := oneOf("exclude", []string{val}, []string{"P1", "P2", "P3", "none"}); err != nil {
				return err
			}
		case "channel", "kind":
		default:
			return badParam("exclude", fmt.Sprintf("cannot exclude by %q (scene, touchpoint, dimension, sentiment, severity, channel, kind)", f))
		}
		if q.Exclude == nil {
			q.Exclude = map[string][]string{}
		}
		q.Exclude[f] = append(q.Exclude[f], val)
	}
	return nil
}
