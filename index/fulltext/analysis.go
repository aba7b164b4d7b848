package fulltext

import (
	"errors"
	"sync"
	"sync/atomic"
	"unicode"
	"unicode/utf8"

	"github.com/blevesearch/bleve/v2/analysis"
	"github.com/blevesearch/bleve/v2/registry"

	"dongting/analyzer"
)

// Names under which the Chinese analysis is registered with Bleve. The
// index mapping stores only these names, so every process that opens an
// index must call Register first.
const (
	tokenizerIndex = "dongting_jieba_search"
	tokenizerQuery = "dongting_jieba_query"
	analyzerIndex  = "dongting_zh"
	analyzerQuery  = "dongting_zh_query"
)

type textTools struct {
	seg  *analyzer.Segmenter
	norm *analyzer.Normalizer
}

var (
	tools        atomic.Pointer[textTools]
	registerOnce sync.Once
	registerErr  error
)

// Register makes the process's segmenter the one Bleve's Chinese analyzers
// use. Bleve's registry is global and refuses duplicate names, so the
// constructors are registered once; later calls only swap the segmenter
// (tests open several indexes on the one shared segmenter).
func Register(seg *analyzer.Segmenter) error {
	norm, err := analyzer.NewNormalizer()
	if err != nil {
		return err
	}
	tools.Store(&textTools{seg: seg, norm: norm})
	registerOnce.Do(func() {
		registerErr = errors.Join(
			registry.RegisterTokenizer(tokenizerIndex, tokenizerConstructor(true)),
			registry.RegisterTokenizer(tokenizerQuery, tokenizerConstructor(false)),
			registry.RegisterAnalyzer(analyzerIndex, analyzerConstructor(tokenizerIndex)),
			registry.RegisterAnalyzer(analyzerQuery, analyzerConstructor(tokenizerQuery)),
		)
	})
	return registerErr
}

func tokenizerConstructor(search bool) registry.TokenizerConstructor {
	return func(map[string]interface{}, *registry.Cache) (analysis.Tokenizer, error) {
		t := tools.Load()
		if t == nil {
			return nil, errors.New("index: Chinese tokenizer used before Register")
		}
		return &jiebaTokenizer{tools: t, search: search}, nil
	}
}

func analyzerConstructor(tokenizer string) registry.AnalyzerConstructor {
	return func(_ map[string]interface{}, cache *registry.Cache) (analysis.Analyzer, error) {
		tok, err := cache.TokenizerNamed(tokenizer)
		if err != nil {
			return nil, err
		}
		return &analysis.DefaultAnalyzer{Tokenizer: tok}, nil
	}
}

// jiebaTokenizer cuts normalized text (half-width, simplified, lower-case)
// and reports offsets into the original bytes, so highlights land on the
// stored text. In search mode the words gojieba finds inside a longer word
// share that word's position: a phrase query (cut in precise mode) then
// matches the long word, and a query for the inner word finds it too.
type jiebaTokenizer struct {
	tools  *textTools
	search bool
}

func (t *jiebaTokenizer) Tokenize(input []byte) analysis.TokenStream {
	orig := string(input)
	norm := t.tools.norm.Normalize(orig)
	words := t.tools.seg.Tokenize(norm.Text, t.search)

	// Byte offset of every rune, in the original and in the normalized text.
	origBytes := runeStarts(orig)
	normRune := make([]int32, len(norm.Text)+1) // normalized byte → rune index
	ri := int32(0)
	for bi := range norm.Text {
		normRune[bi] = ri
		ri++
	}
	normRune[len(norm.Text)] = ri

	// Search mode emits the words inside a long word before the word;
	// walking backwards finds each word first and then its parts.
	owner := make([]int, len(words))
	cur := -1
	for i := len(words) - 1; i >= 0; i-- {
		w := words[i]
		if cur >= 0 && w.Start >= words[cur].Start && w.End <= words[cur].End && (w.Start != words[cur].Start || w.End != words[cur].End) {
			owner[i] = cur
			continue
		}
		owner[i] = i
		cur = i
	}

	stream := make(analysis.TokenStream, 0, len(words))
	pos := 0
	posOf := make(map[int]int, 8)
	for i, w := range words {
		if !indexable(w.Text) {
			continue
		}
		if owner[i] == i {
			if _, ok := posOf[i]; !ok {
				pos++
				posOf[i] = pos
			}
		} else if _, ok := posOf[owner[i]]; !ok {
			pos++
			posOf[owner[i]] = pos
		}
		rs, re := normRune[w.Start], normRune[w.End]
		start := norm.Orig(int(rs))
		end := norm.Orig(int(re)-1) + 1
		typ := analysis.Ideographic
		if r, _ := utf8.DecodeRuneInString(w.Text); r < utf8.RuneSelf {
			typ = analysis.AlphaNumeric
		}
		stream = append(stream, &analysis.Token{
			Term:     []byte(w.Text),
			Start:    origBytes[start],
			End:      origBytes[end],
			Position: posOf[owner[i]],
			Type:     typ,
		})
	}
	return stream
}

// runeStarts returns the byte offset of each rune of s, plus len(s).
func runeStarts(s string) []int {
	out := make([]int, 0, len(s)/2+1)
	for i := range s {
		out = append(out, i)
	}
	return append(out, len(s))
}

// indexable keeps words with a letter or digit: punctuation and spaces are
// not searchable.
func indexable(w string) bool {
	for _, r := range w {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			return true
		}
	}
	return false
}
