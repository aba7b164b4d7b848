package tagging_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode"

	"dongting/analyzer"
	"dongting/analyzer/analyzertest"
	"dongting/data"
	"dongting/index"
	"dongting/index/indextest"
	"dongting/index/tagging"
	"dongting/taxonomy"
)

// TestDryRunIsTheChange is a property test: for random drafts whose rules
// use words of the stored records — many of them words jieba splits until
// they are in its dictionary (太离谱 is 太|离谱, 没配件 没|配件, 不敢坐
// 不敢|坐) — a dry run over every record counts, per node, exactly the
// records the applied change then tags, and leaves the running segmenter
// as it was.
func TestDryRunIsTheChange(t *testing.T) {
	ctx := context.Background()
	// Its own segmenter: the changes add words to it, which must not
	// reach the other tests' shared one.
	res, err := analyzer.LoadResources(data.FS(), "property")
	if err != nil {
		t.Fatal(err)
	}
	seg, err := analyzer.NewSegmenter(analyzertest.DictDir(t), res.SegmenterWords())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(seg.Close) // after the corpus closes (cleanups run last first)
	base, err := analyzer.New(seg, res)
	if err != nil {
		t.Fatal(err)
	}
	c := indextest.Open(t, index.Options{Dir: t.TempDir(), Analyzer: base})
	t.Cleanup(func() { c.Close() })
	m, err := tagging.Open(c, base, tagging.Options{Default: defaultSource(t), Golden: golden(t), Batch: 500})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Close)
	recs := indextest.Demo(t, 11, time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), 1500)
	indextest.Ingest(t, c, recs)

	split, other := candidateWords(recs)
	if len(split) < 20 || len(other) < 20 {
		t.Fatalf("test setup: %d split-prone and %d other words", len(split), len(other))
	}
	rng := rand.New(rand.NewPCG(2026, 11))
	pick := func() string {
		if rng.IntN(3) > 0 {
			return split[rng.IntN(len(split))]
		}
		return other[rng.IntN(len(other))]
	}
	src := string(defaultSource(t))
	for round := range 4 {
		// The words the defects were seen with, then random ones.
		words := []string{"太离谱", "没配件", "不敢坐"}
		if round > 0 {
			words = []string{pick(), pick(), pick()}
		}
		draft := randomDraft(rng, src, round, words, pick)
		tax, err := taxonomy.Parse([]byte(draft))
		if err != nil {
			t.Fatalf("round %d: draft: %v", round, err)
		}
		adds := seg.Additions(tax.Terms())
		probe := strings.Join(words, "，")
		cutBefore := seg.Cut(probe)

		dr, err := m.DryRun(ctx, []byte(draft), -1, 0)
		if err != nil {
			t.Fatalf("round %d: dry run: %v", round, err)
		}
		if got := seg.Additions(tax.Terms()); !slices.Equal(got, adds) {
			t.Fatalf("round %d: the dry run added %v to the running segmenter", round, diffWords(adds, got))
		}
		if got := seg.Cut(probe); !slices.Equal(got, cutBefore) {
			t.Fatalf("round %d: the dry run changed the running cut of %s: %q → %q", round, probe, cutBefore, got)
		}
		if dr.Scanned != len(recs) {
			t.Fatalf("round %d: scanned %d of %d", round, dr.Scanned, len(recs))
		}
		before, untaggedBefore := counts(t, c, recs)
		ruleRuns := map[string]*tagging.RuleRun{}
		if round == 0 {
			for _, w := range words {
				if ruleRuns[w], err = m.DryRunRule(ctx, w, -1, 0); err != nil {
					t.Fatal(err)
				}
			}
		}

		ch, err := m.Replace(ctx, []byte(draft), "property test", "", true)
		if err != nil {
			t.Fatalf("round %d: change: %v", round, err)
		}
		if err := m.Wait(ctx); err != nil {
			t.Fatal(err)
		}
		after, untaggedAfter := counts(t, c, recs)

		listed := map[string]bool{}
		for _, d := range dr.Nodes {
			listed[d.Node] = true
			if d.Before != before[d.Node] || d.After != after[d.Node] {
				t.Errorf("round %d: %s: dry run %d → %d, stored %d → applied %d (rule words %v)",
					round, d.Node, d.Before, d.After, before[d.Node], after[d.Node], words)
			}
		}
		for id, n := range after {
			if !listed[id] {
				t.Errorf("round %d: %s: %d records after the change, not in the dry run", round, id, n)
			}
		}
		if dr.Untagged.Before != untaggedBefore || dr.Untagged.After != untaggedAfter {
			t.Errorf("round %d: untagged: dry run %+v, stored %d → applied %d", round, dr.Untagged, untaggedBefore, untaggedAfter)
		}
		// The golden check of the change saw what its dry run saw.
		if dr.Golden == nil || ch.Golden == nil || dr.Golden.After != ch.Golden.After || dr.Golden.Worse != ch.Golden.Worse {
			t.Errorf("round %d: golden: dry run %+v, change %+v", round, dr.Golden, ch.Golden)
		}
		for _, w := range words {
			if n := after[nodeWith(tax, w)]; round == 0 && n == 0 {
				t.Errorf("round %d: %s tags nothing once applied", round, w)
			}
		}
		// A rule tried alone matches before the change what it matches
		// once the change has added its words to the dictionary.
		for w, rr := range ruleRuns {
			now, err := m.DryRunRule(ctx, w, -1, 0)
			if err != nil {
				t.Fatal(err)
			}
			if rr.Matches == 0 || rr.Matches != now.Matches {
				t.Errorf("rule %s: %d matches in a dry run, %d once its words are in the dictionary", w, rr.Matches, now.Matches)
			}
		}
		if t.Failed() {
			t.FailNow()
		}
		src = draft
	}
}

// counts are the records under each node (their tags and the tags'
// ancestors) as stored, and the untagged records.
func counts(t *testing.T, c *index.Corpus, recs []analyzer.Record) (map[string]int, int) {
	t.Helper()
	out, untagged := map[string]int{}, 0
	for _, r := range recs {
		st, err := c.Get(r.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(st.Analysis.Tags) == 0 {
			untagged++
		}
		seen := map[string]bool{}
		for _, tg := range st.Analysis.Tags {
			for _, id := range append([]string{tg.ID}, tg.Parents...) {
				if !seen[id] {
					seen[id] = true
					out[id]++
				}
			}
		}
	}
	return out, untagged
}

// candidateWords are words cut from the records' texts: 太/没/不 and the
// characters after them (which jieba tends to split), and other runs of
// two to four characters.
func candidateWords(recs []analyzer.Record) (split, other []string) {
	seen := map[string]bool{}
	for _, r := range recs {
		text := r.Text
		for _, tu := range r.Turns {
			text += "。" + tu.Text
		}
		rs := []rune(text)
		for i := range rs {
			for n := 2; n <= 4 && i+n <= len(rs); n++ {
				w := string(rs[i : i+n])
				if seen[w] || !allHan(rs[i:i+n]) {
					continue
				}
				seen[w] = true
				if strings.ContainsRune("太没不", rs[i]) && n >= 3 {
					split = append(split, w)
				} else if n <= 3 {
					other = append(other, w)
				}
			}
		}
	}
	slices.Sort(split)
	slices.Sort(other)
	return split, other
}

func allHan(rs []rune) bool {
	for _, r := range rs {
		if !unicode.Is(unicode.Han, r) {
			return false
		}
	}
	return true
}

// randomDraft adds three touchpoints with rules of words (and pick) under
// random scenes of src, and one of words to an existing node's terms.
func randomDraft(rng *rand.Rand, src string, round int, words []string, pick func() string) string {
	scenes := []string{"repair", "facilities", "fees", "service", "security", "cleaning"}
	for i, w := range words {
		var rule string
		kind := rng.IntN(5)
		if round == 0 {
			kind = 0 // the words alone: each must tag something
		}
		switch kind {
		case 0:
			rule = fmt.Sprintf("terms: [%s]", w)
		case 1:
			rule = fmt.Sprintf("terms: [%s, %s]", w, pick())
		case 2:
			rule = fmt.Sprintf("rule: '%s & %s'", w, pick())
		case 3:
			rule = fmt.Sprintf("rule: 'NEAR/3(%s, %s)'", w, pick())
		default:
			rule = fmt.Sprintf("rule: '%s & NOT %s'", w, pick())
		}
		scene := scenes[rng.IntN(len(scenes))]
		at := strings.Index(src, "  - id: "+scene+"\n")
		at += strings.Index(src[at:], "    touchpoints:\n") + len("    touchpoints:\n")
		node := fmt.Sprintf("      - {id: %s.trial-%d-%d, name: 试验%d%d, %s}\n", scene, round, i, round, i, rule)
		src = src[:at] + node + src[at:]
	}
	// An existing node gains a word: records move between nodes.
	lines := strings.SplitAfter(src, "\n")
	var withTerms []int
	for i, l := range lines {
		if strings.Contains(l, "terms: [") && !strings.Contains(l, ".trial-") {
			withTerms = append(withTerms, i)
		}
	}
	i := withTerms[rng.IntN(len(withTerms))]
	lines[i] = strings.Replace(lines[i], "terms: [", "terms: ["+pick()+", ", 1)
	return strings.Join(lines, "")
}

// nodeWith is the id of the node added for word w.
func nodeWith(tax *taxonomy.Taxonomy, w string) string {
	for _, n := range tax.Nodes() {
		if strings.Contains(n.ID, ".trial-") && strings.Contains(n.Rule, w) {
			return n.ID
		}
	}
	return ""
}

func diffWords(a, b []string) []string {
	var out []string
	for _, w := range a {
		if !slices.Contains(b, w) {
			out = append(out, w)
		}
	}
	return out
}
