package api

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"dongting/index"
)

func (s *Server) getDictionary(c echo.Context) error {
	words, err := s.corpus.Dictionary()
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"words": words})
}

// changeDictionary adds and removes segmenter words without a restart:
// {"add": ["蓝鲸湾"], "remove": ["…"]}. They apply to what is analyzed and
// searched from now on, and again at every start.
func (s *Server) changeDictionary(c echo.Context) error {
	var body struct {
		Add    []string `json:"add"`
		Remove []string `json:"remove"`
	}
	if err := decodeSmallJSON(c, &body); err != nil {
		return err
	}
	if len(body.Add)+len(body.Remove) == 0 {
		return &Error{Status: http.StatusUnprocessableEntity, Code: "invalid_field", Field: "add", Message: "nothing to add or remove"}
	}
	if len(body.Add)+len(body.Remove) > 1000 {
		return &Error{Status: http.StatusUnprocessableEntity, Code: "invalid_field", Field: "add", Message: "at most 1000 words per request"}
	}
	for field, list := range map[string][]string{"add": body.Add, "remove": body.Remove} {
		for i, w := range list {
			list[i] = strings.TrimSpace(w)
			if why := index.CheckWord(list[i]); why != "" {
				return &Error{Status: http.StatusUnprocessableEntity, Code: "invalid_field", Field: fmt.Sprintf("%s[%d]", field, i), Message: why}
			}
		}
	}
	still, err := s.corpus.ChangeWords(body.Add, body.Remove)
	if err != nil {
		return err
	}
	s.audit(c, "dictionary.change", "", fmt.Sprintf("+%d -%d words", len(body.Add), len(body.Remove)))
	words, err := s.corpus.Dictionary()
	if err != nil {
		return err
	}
	out := map[string]any{"words": words}
	if len(still) > 0 {
		out["not_removed"] = still
		out["note"] = "these are words of jieba's own dictionary (or joined by its HMM): they stay whole"
	}
	return c.JSON(http.StatusOK, out)
}
