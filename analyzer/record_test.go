package analyzer

import (
	"strings"
	"testing"
)

func TestNamespacedIDs(t *testing.T) {
	ns := NamespacedID("华南区域/深圳", "工单/2026/001")
	if scope, own, ok := SplitNamespacedID(ns); !ok || scope != "华南区域/深圳" || own != "工单/2026/001" {
		t.Errorf("split %q: %q %q %v", ns, scope, own, ok)
	}
	if _, _, ok := SplitNamespacedID("工单/2026/001"); ok {
		t.Error("an ordinary id split as namespaced")
	}
	for id, valid := range map[string]bool{
		ns:                true,
		"plain":           true,
		"\x1f":            false,
		"\x1fscope":       false,
		"\x1f\x1fid":      false,
		"\x1fscope\x1f":   false,
		"\x1fa//b\x1fid":  false,
		"\x1fa\x1fb\x1fc": false,
		"\x1fa\x1f" + strings.Repeat("x", MaxIDBytes+1): false,
		strings.Repeat("x", MaxIDBytes+1):               false,
	} {
		r := &Record{ID: id, Text: "电梯坏了"}
		if err := r.Validate(); (err == nil) != valid {
			t.Errorf("Validate(%q) = %v, want valid %v", id, err, valid)
		}
	}
	for _, c := range []struct {
		org, scope string
		in         bool
	}{
		{"华南区域/深圳", "华南区域", true}, {"华南区域", "华南区域", true}, {"华南区域二部", "华南区域", false},
		{"华东区域/杭州", "华南区域", false}, {"", "", true}, {"任何", "", true}, {"", "华南区域", false},
	} {
		if InScope(c.org, c.scope) != c.in {
			t.Errorf("InScope(%q, %q) = %v", c.org, c.scope, !c.in)
		}
	}
}
