package taxonomy

import (
	"io/fs"
	"reflect"
	"strings"
	"testing"

	"dongting/data"
)

// The level-1 scene ids are fixed by ARCHITECTURE.md.
var fixedScenes = []string{"delivery", "sales", "repair", "facilities", "utilities", "security", "access", "parking", "cleaning", "greening", "fees", "service", "amenities", "neighborhood", "renovation", "governance", "community"}

func load(t *testing.T, name string) *Taxonomy {
	t.Helper()
	src, err := fs.ReadFile(data.FS(), "taxonomy/"+name+".yaml")
	if err != nil {
		t.Fatal(err)
	}
	tax, err := Parse(src)
	if err != nil {
		t.Fatal(err)
	}
	return tax
}

func TestDefaultTaxonomy(t *testing.T) {
	tax := load(t, "property")
	var ids []string
	for _, s := range tax.Scenes {
		ids = append(ids, s.ID)
	}
	if strings.Join(ids, " ") != strings.Join(fixedScenes, " ") {
		t.Errorf("scenes = %v, want %v", ids, fixedScenes)
	}
	if n := tax.Touchpoints(); n < 150 {
		t.Errorf("%d touchpoints, want at least 150", n)
	}
	var dims []string
	for _, d := range tax.Dimensions {
		dims = append(dims, d.Name)
	}
	if strings.Join(dims, " ") != "响应及时性 服务态度 专业能力 处理结果 收费透明 沟通告知" {
		t.Errorf("dimensions = %v", dims)
	}
	n, ok := tax.Node("facilities.elevator.entrapment")
	if !ok || n.Scene != "facilities" || strings.Join(n.Path, "/") != "公共设施设备/电梯/电梯困人" {
		t.Errorf("entrapment node = %+v", n)
	}
	if _, err := tax.Compile(nil); err != nil {
		t.Fatal(err)
	}
}

func TestMallTaxonomy(t *testing.T) {
	tax := load(t, "mall")
	tg, err := tax.Compile(nil)
	if err != nil {
		t.Fatal(err)
	}
	tags, _ := tg.Tag(toks("停车场 车位 太 少 ， 洗手间 也 脏"))
	var got []string
	for _, h := range tags {
		got = append(got, h.Node.ID)
	}
	if strings.Join(got, " ") != "arrival.parking facilities.restroom" {
		t.Errorf("tags = %v", got)
	}
}

func TestTagKeepsMostSpecific(t *testing.T) {
	tax := load(t, "property")
	tg, err := tax.Compile(nil)
	if err != nil {
		t.Fatal(err)
	}
	tags, _ := tg.Tag(toks("电梯 又 坏 了 ， 保安 不 管"))
	var got []string
	for _, h := range tags {
		got = append(got, h.Node.ID)
	}
	// facilities.elevator also matches but its child is more specific.
	if strings.Join(got, " ") != "facilities.elevator.fault security.guard" {
		t.Errorf("tags = %v", got)
	}
}

func TestParseValidation(t *testing.T) {
	src := `id: t
name: test
scenes:
  - id: a
    name: A
    touchpoints:
      - {id: a.x, name: X, terms: [甲]}
      - {id: a.x, name: Y, terms: [乙]}
      - {id: a.z, terms: [丙]}
      - {id: Bad Id, name: Z, terms: [丁]}
      - {id: a.empty, name: E}
      - id: a.rule
        name: R
        rule: 电梯 & (坏 |
`
	_, err := Parse([]byte(src))
	if err == nil {
		t.Fatal("want errors")
	}
	for _, want := range []string{
		`node a.x: line 8, col 9: duplicate id "a.x" (first at line 7)`,
		"node a.z: line 9, col 9: missing name",
		`node Bad Id: line 10, col 9: id "Bad Id"`,
		"node a.empty: line 11, col 9: a leaf node needs terms or a rule",
		"rule a.rule: line 14, col 24: expected a term",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	if _, err := Parse([]byte("id: t\nscenes:\n  - id: a\n    nmae: A\n")); err == nil || !strings.Contains(err.Error(), `line 4, col 5: unknown field "nmae"`) {
		t.Errorf("unknown field: %v", err)
	}
}

func TestDiff(t *testing.T) {
	old, err := Parse([]byte(`id: t
name: T
scenes:
  - id: a
    name: A
    touchpoints:
      - {id: a.x, name: X, terms: [电梯]}
      - {id: a.y, name: Y, terms: [门禁]}
  - id: b
    name: B
    terms: [停车]
`))
	if err != nil {
		t.Fatal(err)
	}
	new, err := Parse([]byte(`id: t
name: T
scenes:
  - id: a
    name: A
    touchpoints:
      - {id: a.x, name: X2, terms: [电梯, 扶梯]}
  - id: b
    name: B
    terms: [停车]
    touchpoints:
      - {id: a.y, name: Y, terms: [门禁]}
      - {id: b.z, name: Z, terms: [车位]}
`))
	if err != nil {
		t.Fatal(err)
	}
	got := Diff(old, new)
	want := []NodeChange{
		{Node: "a.x", Change: "changed", Name: "X2", Fields: []string{"name", "rule"}, OldRule: "电梯", NewRule: "电梯 | 扶梯"},
		{Node: "a.y", Change: "changed", Name: "Y", Fields: []string{"parent"}},
		{Node: "b.z", Change: "added", Name: "Z", NewRule: "车位"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("diff:\n got %+v\nwant %+v", got, want)
	}
	if d := Diff(old, old); len(d) != 0 {
		t.Fatalf("a taxonomy differs from itself: %+v", d)
	}
	back := Diff(new, old)
	if len(back) != 3 || back[2].Change != "removed" || back[2].Node != "b.z" {
		t.Fatalf("reverse diff: %+v", back)
	}
}

// FuzzParse feeds the taxonomy parser (a taxonomy arrives over the API):
// it must return a taxonomy or an error, never panic, and what it accepts
// is a valid tree that differs from nothing when compared with itself.
func FuzzParse(f *testing.F) {
	f.Add([]byte("id: t\nname: T\nscenes:\n  - {id: a, name: A, terms: [电梯]}\n"))
	f.Add([]byte(`{"id":"t","name":"T","scenes":[{"id":"a","name":"A","rule":"NEAR/3(电梯, 困人) & NOT 演练"}]}`))
	f.Add([]byte("id: t\nscenes:\n  - id: a\n    name: A\n    touchpoints:\n      - {id: a.b, name: B, rule: '(x'}\n"))
	f.Add([]byte("id: t\nname: T\nscenes: [{id: a, name: A, terms: [x]}]\ndimensions: [{id: d, name: D, terms: [y], touchpoints: [{id: e}]}]\n"))
	f.Fuzz(func(t *testing.T, src []byte) {
		tax, err := Parse(src)
		if err != nil {
			if tax != nil {
				t.Fatal("a taxonomy and an error")
			}
			return
		}
		if len(tax.Scenes) == 0 || tax.ID == "" {
			t.Fatalf("accepted a taxonomy without id or scenes: %q", src)
		}
		if d := Diff(tax, tax); len(d) != 0 {
			t.Fatalf("differs from itself: %v", d)
		}
	})
}
