package analyzer

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
	"unsafe"

	"github.com/longbridgeapp/opencc"
)

// Normalizer rewrites text for analysis and keeps, for every rune of the
// result, the offset of the rune it came from, so evidence can point into
// the original text.
type Normalizer struct {
	t2s     *opencc.OpenCC
	trad    map[rune]rune // traditional character → simplified, one to one
	tradSet []uint64      // the same keys as a bitset from tradBase: checked for every rune
}

const tradBase, tradEnd = 0x3400, 0x9FFF

func (n *Normalizer) isTrad(r rune) bool {
	if r < tradBase || r > tradEnd {
		return false
	}
	i := r - tradBase
	return n.tradSet[i/64]&(1<<(i%64)) != 0
}

// NewNormalizer builds the traditional→simplified converter (OpenCC's t2s
// dictionaries, phrase level) and the set of characters that need it.
func NewNormalizer() (*Normalizer, error) {
	cc, err := opencc.New("t2s")
	if err != nil {
		return nil, fmt.Errorf("analyzer: opencc t2s: %w", err)
	}
	// OpenCC's Convert is a slow per-rune prefix match; most of our text is
	// already simplified, so find once which characters convert and only
	// call Convert on text that has one of them. Separating the characters
	// with newlines keeps phrase rules from joining them.
	var b strings.Builder
	var src []rune
	for r := rune(tradBase); r <= tradEnd; r++ {
		src = append(src, r)
		b.WriteRune(r)
		b.WriteByte('\n')
	}
	out, err := cc.Convert(b.String())
	if err != nil {
		return nil, fmt.Errorf("analyzer: opencc t2s: %w", err)
	}
	parts := strings.Split(out, "\n")
	if len(parts) < len(src) {
		return nil, fmt.Errorf("analyzer: opencc t2s: character table came back with %d of %d entries", len(parts), len(src))
	}
	trad := make(map[rune]rune)
	for i, r := range src {
		p := []rune(parts[i])
		if len(p) == 1 && p[0] != r {
			trad[r] = p[0]
		}
	}
	set := make([]uint64, (tradEnd-tradBase)/64+1)
	for r := range trad {
		i := r - tradBase
		set[i/64] |= 1 << (i % 64)
	}
	return &Normalizer{t2s: cc, trad: trad, tradSet: set}, nil
}

// Normalized is text prepared for analysis.
type Normalized struct {
	Text string
	// offs[i] is the original code-point offset of the i-th rune of Text;
	// nil while the mapping is one to one (the common case: full-width
	// punctuation folds rune for rune).
	offs  []int32
	runes int   // runes in Text
	end   int32 // the original length in code points, where End offsets map
}

// Orig maps a code-point offset in the normalized text to the original.
func (n *Normalized) Orig(i int) int {
	switch {
	case i < 0:
		return 0
	case i >= n.runes:
		return int(n.end)
	case n.offs == nil:
		return i
	}
	return int(n.offs[i])
}

// Normalize folds full-width forms to half-width, lower-cases Latin letters,
// converts traditional characters to simplified, drops control characters
// (NUL among them: gojieba would stop at it), and collapses whitespace runs
// to one space. Emoji and other symbols pass through untouched. Text that
// needs none of this is returned as it is, without a copy.
func (n *Normalizer) Normalize(s string) Normalized {
	var (
		buf     []byte  // the output, from the first change on
		pend    int     // with buf: s[pend:] up to the current rune is output not yet copied into buf
		offs    []int32 // from the first rune not at its own offset on
		runes   int     // runes written
		i       int32   // runes read
		hasTrad bool
		space   bool
	)
	// emit writes r for original rune i (s[b:b+size]); same says r is that
	// rune as it is, which is copied with the runes around it when buf is
	// next written to, not rune by rune.
	emit := func(r rune, b, size int, same bool) {
		if !same {
			if buf == nil {
				buf = append(make([]byte, 0, len(s)+8), s[:b]...)
			} else {
				buf = append(buf, s[pend:b]...)
			}
			buf = utf8.AppendRune(buf, r)
			pend = b + size
		}
		if offs == nil && int32(runes) != i {
			offs = make([]int32, runes, len(s)) // a rune is at least a byte
			for k := range offs {
				offs[k] = int32(k)
			}
		}
		if offs != nil {
			offs = append(offs, i)
		}
		runes++
	}
	last := func() byte {
		if len(buf) == 0 {
			return 0
		}
		return buf[len(buf)-1]
	}
	for b := 0; b < len(s); {
		r, size := utf8.DecodeRuneInString(s[b:]) // as range does: RuneError, 1 for an invalid byte
		orig := r
		switch {
		case r == utf8.RuneError:
			r = ' ' // invalid bytes: never reach the segmenter
		case r == 0x3000:
			r = ' '
		case r >= 0xFF01 && r <= 0xFF5E:
			r -= 0xFEE0
		}
		if r >= 'A' && r <= 'Z' {
			r += 'a' - 'A'
		}
		// Above U+3000 nothing is a space or a control character: the
		// common case (CJK) skips the table lookups.
		if r < 0x80 && r > ' ' && r != 0x7F || r >= 0xA0 && (r > 0x3000 || !unicode.IsSpace(r) && !unicode.IsControl(r)) && r != 0x200B && r != 0xFEFF {
			space = false
			if !hasTrad && n.isTrad(r) {
				hasTrad = true
			}
			emit(r, b, size, r == orig)
			i++
			b += size
			continue
		}
		// Whitespace and control characters. Newlines are kept as clause
		// breaks; other space collapses to one.
		if buf == nil {
			// From here on the output may differ from s in length.
			buf = append(make([]byte, 0, len(s)+8), s[:b]...)
		} else {
			buf = append(buf, s[pend:b]...)
		}
		pend = b
		switch {
		case r == '\n' || r == '\r':
			if last() == ' ' {
				buf[len(buf)-1] = '\n'
			} else if runes == 0 || last() != '\n' {
				emit('\n', b, size, false)
			}
			space = true
		case unicode.IsSpace(r) && !space && runes > 0:
			emit(' ', b, size, false)
			space = true
		}
		pend = b + size // the space or control character itself is not copied
		i++
		b += size
	}
	if buf != nil {
		buf = append(buf, s[pend:]...)
		for len(buf) > 0 && (buf[len(buf)-1] == ' ' || buf[len(buf)-1] == '\n') {
			buf = buf[:len(buf)-1]
			runes--
			if offs != nil {
				offs = offs[:runes]
			}
		}
	}
	out := Normalized{Text: s, offs: offs, runes: runes, end: i}
	if len(buf) > 0 {
		// buf is not written again: the string may share its bytes.
		out.Text = unsafe.String(unsafe.SliceData(buf), len(buf))
	} else if buf != nil {
		out.Text = ""
	}
	if hasTrad {
		rs := []rune(out.Text)
		n.toSimplified(rs)
		out.Text = string(rs)
	}
	return out
}

// toSimplified converts in place. Phrase-level conversion is used when it
// keeps the length (almost always), so offsets stay one to one; otherwise
// characters are converted one by one.
func (n *Normalizer) toSimplified(runes []rune) {
	out, err := n.t2s.Convert(string(runes))
	if err == nil {
		conv := []rune(out)
		if len(conv) == len(runes) {
			copy(runes, conv)
			return
		}
	}
	for i, r := range runes {
		if s, ok := n.trad[r]; ok {
			runes[i] = s
		}
	}
}
