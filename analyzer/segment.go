package analyzer

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/yanyiwu/gojieba"
)

// DictFiles are the files gojieba needs, looked up in the dictionary
// directory (gojieba's own deps/cppjieba/dict).
var DictFiles = []string{"jieba.dict.utf8", "hmm_model.utf8", "user.dict.utf8", "idf.utf8", "stop_words.utf8"}

// userWordFreq is the frequency given to added words (gojieba's dictionary
// totals ~60M; common nouns there have 1,000–10,000).
const userWordFreq = 3000

// Segmenter is the process's one gojieba instance (≈130 MB of C++ heap, ~1 s
// to load: share it). Cut is safe across goroutines; AddWord mutates
// unlocked maps inside gojieba, so it takes the write lock.
type Segmenter struct {
	change sync.Mutex // one dictionary change at a time (a rebuild takes ~1 s)
	mu     sync.RWMutex
	jieba  *gojieba.Jieba
	paths  []string        // the dictionary files, for a rebuild
	words  map[string]bool // every word added to jieba's own, for a rebuild
	trial  *trial          // the segmenter that tries words (Trial); nil in a trial itself
}

// trial keeps the one segmenter that tries words for a while after its
// use: successive dry runs, and the change that follows them, mostly need
// its words and a few more, which are cheap to add, while a new gojieba
// costs ~1–2 s.
type trial struct {
	sem    chan struct{} // held by its one user, who alone touches seg
	mu     sync.Mutex    // timer, closed
	seg    *Segmenter
	timer  *time.Timer
	closed bool
}

// trialIdle is how long an unused trial segmenter is kept.
const trialIdle = 5 * time.Minute

// CheckDictDir verifies that dir holds every file gojieba needs, so a bad
// path is a clear error here instead of a panic inside gojieba.
func CheckDictDir(dir string) error {
	if dir == "" {
		return errors.New("analyzer: jieba dictionary directory not set (flag -jieba-dict or env DONGTING_JIEBA_DICT; `make` sets it)")
	}
	var missing []string
	for _, f := range DictFiles {
		st, err := os.Stat(filepath.Join(dir, f))
		if err != nil || st.IsDir() {
			missing = append(missing, f)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("analyzer: jieba dictionary directory %s lacks %s", dir, strings.Join(missing, ", "))
	}
	return nil
}

// NewSegmenter loads gojieba from dictDir and adds the domain words.
func NewSegmenter(dictDir string, words []string) (*Segmenter, error) {
	if err := CheckDictDir(dictDir); err != nil {
		return nil, err
	}
	paths := make([]string, len(DictFiles))
	for i, f := range DictFiles {
		paths[i] = filepath.Join(dictDir, f)
	}
	s := &Segmenter{jieba: gojieba.NewJieba(paths...), paths: paths, words: map[string]bool{},
		trial: &trial{sem: make(chan struct{}, 1)}}
	for _, w := range words {
		s.addWord(w)
	}
	return s, nil
}

// cleanWord is w as addWord stores it, or false if it would skip it.
func cleanWord(w string) (string, bool) {
	w = strings.TrimSpace(w)
	return w, w != "" && !strings.ContainsAny(w, " \t\n\x00")
}

func (s *Segmenter) addWord(w string) {
	w, ok := cleanWord(w)
	if !ok {
		return
	}
	// AddWord would insert with cppjieba's default weight and, for a word
	// gojieba already knows (管家, 楼道), replace its real frequency with that
	// lower one, so the word gets split. A fixed, mid-to-high frequency
	// keeps every domain word whole.
	s.jieba.AddWordEx(w, userWordFreq, "")
	s.words[w] = true
}

// AddWords adds words to the dictionary while no Cut is running.
func (s *Segmenter) AddWords(words ...string) {
	s.change.Lock()
	defer s.change.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, w := range words {
		s.addWord(w)
	}
}

// RemoveWords takes added words out of the dictionary. gojieba's
// RemoveWord leaves a word in place (v1.4.7), so a new gojieba is built
// with the remaining words (~1 s) and swapped in under the write lock.
// It returns the words that are still cut whole afterwards: words of
// jieba's own dictionary, or joined by its HMM, cannot be removed.
func (s *Segmenter) RemoveWords(words ...string) []string {
	s.change.Lock()
	defer s.change.Unlock()
	s.mu.RLock()
	changed := false
	for _, w := range words {
		changed = changed || s.words[strings.TrimSpace(w)]
	}
	s.mu.RUnlock()
	if changed {
		s.mu.RLock()
		keep := make([]string, 0, len(s.words))
		for w := range s.words {
			if !slices.Contains(words, w) {
				keep = append(keep, w)
			}
		}
		s.mu.RUnlock()
		fresh := &Segmenter{jieba: gojieba.NewJieba(s.paths...), paths: s.paths, words: map[string]bool{}}
		for _, w := range keep {
			fresh.addWord(w)
		}
		s.mu.Lock()
		old := s.jieba
		s.jieba, s.words = fresh.jieba, fresh.words
		s.mu.Unlock()
		old.Free()
	}
	var still []string
	for _, w := range words {
		if w = strings.TrimSpace(w); w != "" && slices.Equal(s.Cut(w), []string{w}) {
			still = append(still, w)
		}
	}
	return still
}

// Cut segments text (precise mode with HMM for unknown words). The returned
// strings are substrings of text. Text must not contain NUL: gojieba passes
// it through C.CString and would stop there (Normalize removes NUL).
func (s *Segmenter) Cut(text string) []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.jieba.Cut(text, true)
}

// Close frees the C++ side, and the trial segmenter's once no one uses
// it. The segmenter must not be used afterwards.
func (s *Segmenter) Close() {
	if t := s.trial; t != nil {
		t.mu.Lock()
		t.closed = true
		if t.timer != nil {
			t.timer.Stop()
		}
		t.mu.Unlock()
		t.freeUnused()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.jieba != nil {
		s.jieba.Free()
		s.jieba = nil
	}
}

// Additions are the words AddWords(words...) would add: those this
// segmenter has not been given yet, as it would store them.
func (s *Segmenter) Additions(words []string) []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []string
	seen := map[string]bool{}
	for _, w := range words {
		if w, ok := cleanWord(w); ok && !s.words[w] && !seen[w] {
			seen[w] = true
			out = append(out, w)
		}
	}
	return out
}

// Trial is a segmenter that cuts exactly as this one will after
// AddWords(words...), leaving this one as it is: what a dry run needs to
// show what a change will do (the change adds its rules' words, and a new
// word changes the cut around it: 太离谱 is 太|离谱 until it is added).
// When words adds nothing, Trial is s itself. Otherwise it is a second
// gojieba (~130 MB), the one exception to one instance per process: only
// one exists, one caller uses it at a time (others wait, or give up with
// ctx), and it is kept trialIdle after its last use, so the next trial
// that needs a superset of its words only adds them. release must be
// called when done; the trial must not be used afterwards.
func (s *Segmenter) Trial(ctx context.Context, words []string) (seg *Segmenter, release func(), err error) {
	add := s.Additions(words)
	if len(add) == 0 {
		return s, func() {}, nil
	}
	if s.trial == nil {
		return nil, nil, errors.New("analyzer: a trial segmenter cannot try words itself")
	}
	t := s.trial
	select {
	case t.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, nil, ctx.Err()
	}
	t.mu.Lock()
	if t.timer != nil {
		t.timer.Stop()
	}
	closed := t.closed
	t.mu.Unlock()
	if closed {
		<-t.sem
		return nil, nil, errors.New("analyzer: segmenter closed")
	}
	s.mu.RLock()
	want := make(map[string]bool, len(s.words)+len(add))
	for w := range s.words {
		want[w] = true
	}
	s.mu.RUnlock()
	for _, w := range add {
		want[w] = true
	}
	if t.seg != nil {
		// Reusable if it holds no word beyond the wanted ones: words
		// cannot be taken out of a gojieba (see RemoveWords).
		var missing []string
		for w := range t.seg.words {
			if !want[w] {
				t.seg.Close()
				t.seg = nil
				break
			}
		}
		if t.seg != nil {
			for w := range want {
				if !t.seg.words[w] {
					missing = append(missing, w)
				}
			}
			t.seg.AddWords(missing...)
		}
	}
	if t.seg == nil {
		fresh := &Segmenter{jieba: gojieba.NewJieba(s.paths...), paths: s.paths, words: map[string]bool{}}
		for w := range want {
			fresh.addWord(w)
		}
		t.seg = fresh
	}
	var once sync.Once
	return t.seg, func() { once.Do(t.release) }, nil
}

// release ends a use of the trial segmenter and arms its idle timer.
func (t *trial) release() {
	t.mu.Lock()
	closed := t.closed
	if !closed {
		if t.timer == nil {
			t.timer = time.AfterFunc(trialIdle, t.freeUnused)
		} else {
			t.timer.Reset(trialIdle)
		}
	}
	t.mu.Unlock()
	<-t.sem
	t.mu.Lock()
	closed = t.closed // Close may have come while this use ended
	t.mu.Unlock()
	if closed {
		t.freeUnused()
	}
}

// freeUnused frees the trial segmenter unless someone uses it (then its
// release arms the idle timer again, or frees it after Close).
func (t *trial) freeUnused() {
	select {
	case t.sem <- struct{}{}:
		if t.seg != nil {
			t.seg.Close()
			t.seg = nil
		}
		<-t.sem
	default:
	}
}

// Word is a token with byte offsets into the text it came from.
type Word struct {
	Text       string
	Start, End int
}

// Tokenize segments text with byte offsets: precise mode, or search mode,
// which also emits the dictionary words inside a long word (电梯 and 困人
// inside 电梯困人) before the word itself.
func (s *Segmenter) Tokenize(text string, search bool) []Word {
	mode := gojieba.DefaultMode
	if search {
		mode = gojieba.SearchMode
	}
	s.mu.RLock()
	ws := s.jieba.Tokenize(text, mode, true)
	s.mu.RUnlock()
	out := make([]Word, len(ws))
	for i, w := range ws {
		out[i] = Word{w.Str, w.Start, w.End}
	}
	return out
}
