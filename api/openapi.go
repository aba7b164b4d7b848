package api

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/labstack/echo/v4"
	"gopkg.in/yaml.v3"
)

//go:embed openapi.yaml
var openAPIYAML []byte

// OpenAPI returns the API description as JSON (the YAML is the source).
func OpenAPI() ([]byte, error) {
	var doc map[string]any
	if err := yaml.Unmarshal(openAPIYAML, &doc); err != nil {
		return nil, fmt.Errorf("api: openapi.yaml: %w", err)
	}
	return json.Marshal(doc)
}

func (s *Server) openAPI(c echo.Context) error {
	b, err := OpenAPI()
	if err != nil {
		return err
	}
	return c.JSONBlob(http.StatusOK, b)
}
