package alerts_test

import (
	"errors"
	"io/fs"
	"testing"

	"dongting/analyzer"
	"dongting/data"
	"dongting/index/alerts"
)

// FuzzParseConfig: routing arrives over the API as YAML or JSON. Any input
// is either accepted as a valid configuration or refused with a
// ConfigError naming a field; never a panic, never an invalid config.
func FuzzParseConfig(f *testing.F) {
	b, err := fs.ReadFile(data.FS(), "alerts/routing.yaml")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Add([]byte(`{"window":"2h","max_age":"168h","repeat_days":7,"spike":{"baseline_days":28,"min_count":5,"p":0.001},"receivers":[{"id":"a","url":"http://x/","secret":"0123456789abcdef"}]}`))
	f.Add([]byte("sources: {redline: {severity: P1, notify: [3], escalate: [{after: 1h, level: 0}]}}"))
	f.Add([]byte("window: -1s"))
	f.Add([]byte("\xff\xfe"))
	f.Fuzz(func(t *testing.T, src []byte) {
		cfg, err := alerts.ParseConfig(src)
		if err != nil {
			var ce *analyzer.Error
			if !errors.As(err, &ce) || ce.Field == "" {
				t.Fatalf("error without a field: %v", err)
			}
			return
		}
		if err := cfg.Validate(); err != nil {
			t.Fatalf("accepted an invalid configuration: %v", err)
		}
	})
}
