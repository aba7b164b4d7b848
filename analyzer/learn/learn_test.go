package learn

import (
	"bytes"
	"slices"
	"strings"
	"testing"
)

// toy builds examples where a word decides each class.
func toy() ([]string, []Example) {
	classes := []string{"parking", "cleaning", "fees"}
	texts := []struct {
		words  []string
		labels []bool
	}{
		{[]string{"车位", "被", "占"}, []bool{true, false, false}},
		{[]string{"地库", "车位", "收费"}, []bool{true, false, true}},
		{[]string{"垃圾", "没人", "清运"}, []bool{false, true, false}},
		{[]string{"楼道", "垃圾", "很", "臭"}, []bool{false, true, false}},
		{[]string{"物业费", "又", "涨", "收费"}, []bool{false, false, true}},
		{[]string{"物业费", "太", "贵"}, []bool{false, false, true}},
		{[]string{"道路", "修", "好"}, []bool{false, false, false}},
		{[]string{"公交", "线路", "少"}, []bool{false, false, false}},
	}
	var ex []Example
	for i := 0; i < 6; i++ { // repeat so MinDF keeps the words
		for _, t := range texts {
			ex = append(ex, Example{Features: Extract(t.words), Targets: t.labels, Weight: 1})
		}
	}
	return classes, ex
}

func TestTrainLearnsAndIsDeterministic(t *testing.T) {
	classes, ex := toy()
	m := Train(classes, false, ex, TrainOptions{Seed: 3, Balance: true})
	p := m.Probabilities(Extract([]string{"小区", "垃圾", "臭"}))
	if p[1] < 0.5 || p[0] > 0.5 || p[2] > 0.5 {
		t.Errorf("垃圾 text: %v", p)
	}
	p = m.Probabilities(Extract([]string{"公交", "道路"}))
	for k, v := range p {
		if v > 0.5 {
			t.Errorf("off-topic text scored %s %.2f", classes[k], v)
		}
	}
	var a, b bytes.Buffer
	ms := &Models{Version: FormatVersion, Scenes: m, Sentiment: Train([]string{"negative", "neutral", "positive"}, true, sentimentToy(), TrainOptions{Seed: 3}), Redline: m}
	if err := ms.Write(&a); err != nil {
		t.Fatal(err)
	}
	m2 := Train(classes, false, ex, TrainOptions{Seed: 3, Balance: true})
	again := &Models{Version: FormatVersion, Scenes: m2, Sentiment: Train([]string{"negative", "neutral", "positive"}, true, sentimentToy(), TrainOptions{Seed: 3}), Redline: m2}
	if err := again.Write(&b); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Error("the same data and seed gave different model files")
	}
	read, err := ReadModels(bytes.NewReader(a.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	f := Extract([]string{"物业费", "涨"})
	got, want := read.Scenes.Probabilities(f), m.Probabilities(f)
	for k := range got {
		if got[k] != want[k] {
			t.Errorf("read model scores %v, written %v", got, want)
		}
	}
	if _, err := ReadModels(strings.NewReader("not a model")); err == nil {
		t.Error("garbage read as a model")
	}
}

func sentimentToy() []Example {
	var ex []Example
	for i := 0; i < 5; i++ {
		ex = append(ex,
			Example{Features: Extract([]string{"太", "差", "了"}), Class: 0, Weight: 1},
			Example{Features: Extract([]string{"请问", "怎么", "办理"}), Class: 1, Weight: 1},
			Example{Features: Extract([]string{"非常", "满意", "点赞"}), Class: 2, Weight: 1})
	}
	return ex
}

// TestFuse: the model confirms or drops rule scenes, proposes what rules
// missed, and leaves scenes it does not know to the rules.
func TestFuse(t *testing.T) {
	m := &Linear{Classes: []string{"parking", "cleaning", "fees"}, Thresholds: map[string]float64{ConfirmKey: 0.3, SuggestKey: 0.8}}
	probs := []float64{0.9, 0.1, 0.85}
	got := Fuse(m, []string{"cleaning", "parking", "renovation"}, probs)
	want := []string{"parking", "fees", "renovation"} // cleaning dropped, fees proposed, renovation unknown to the model
	if s := Scenes(got); strings.Join(s, ",") != strings.Join(want, ",") {
		t.Fatalf("Fuse = %v, want %v", s, want)
	}
	if got[1].Rule || !got[1].Model || got[2].Confidence != RuleOnly || got[2].Model {
		t.Errorf("decisions: %+v", got)
	}
	if s := Scenes(Fuse(nil, []string{"cleaning"}, nil)); len(s) != 1 || s[0] != "cleaning" {
		t.Errorf("without a model rules decide: %v", s)
	}
}

func TestSplitIsStable(t *testing.T) {
	// Fixed by id hash: these must never move between splits.
	for id, want := range map[string]string{"tipdm20-a2-10603": "train", "tipdm20-a2-111899": "train"} {
		if got := Split(id); got != want {
			t.Errorf("Split(%q) = %s, want %s", id, got, want)
		}
	}
	n := 0
	for i := range 3000 {
		if Split("m-"+string(rune('a'+i%26))+string(rune(i))) == "dev" {
			n++
		}
	}
	if n < 800 || n > 1200 {
		t.Errorf("%d of 3000 ids in dev, want about a third", n)
	}
}

// TestRuleFeatures: a rule's scene is one input on the estate and another
// off it; nodes are inputs of their own; none collides with a word.
func TestRuleFeatures(t *testing.T) {
	if !MentionsEstate([]string{"我们", "小区内", "垃圾"}) || MentionsEstate([]string{"学校", "门口", "公交"}) {
		t.Fatal("MentionsEstate")
	}
	on := RuleFeatures([]string{"amenities"}, []string{"amenities.supporting"}, true)
	off := RuleFeatures([]string{"amenities"}, []string{"amenities.supporting"}, false)
	if len(on) != 3 || on[0] != off[0] || on[1] == off[1] || on[2] != off[2] {
		t.Errorf("on the estate %v, off %v: want the scene and node alike and the estate pair apart", on, off)
	}
	words := Extract([]string{"amenities", "amenities.supporting", "学校"})
	for _, f := range on {
		if slices.Contains(words, f) {
			t.Errorf("rule feature %d is also a word feature", f)
		}
	}
	if len(RuleFeatures(nil, nil, true)) != 0 {
		t.Error("no rule hit, no feature")
	}
}
