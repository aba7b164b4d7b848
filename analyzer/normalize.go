package analyzer

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

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
	// Offs[i] is the original code-point offset of the i-th rune of Text;
	// Offs[len] is the original length, so End offsets map too.
	Offs []int32
}

// Orig maps a code-point offset in the normalized text to the original.
func (n *Normalized) Orig(i int) int {
	if i < 0 {
		return 0
	}
	if i >= len(n.Offs) {
		return int(n.Offs[len(n.Offs)-1])
	}
	return int(n.Offs[i])
}

// Normalize folds full-width forms to half-width, lower-cases Latin letters,
// converts traditional characters to simplified, drops control characters
// (NUL among them: gojieba would stop at it), and collapses whitespace runs
// to one space. Emoji and other symbols pass through untouched.
func (n *Normalizer) Normalize(s string) Normalized {
	runes := make([]rune, 0, len(s)/2+1)
	offs := make([]int32, 0, len(s)/2+2)
	hasTrad := false
	space := false
	i := int32(0)
	for _, r := range s {
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
		if unicode.IsSpace(r) || (unicode.IsControl(r)) || r == 0x200B || r == 0xFEFF {
			// Newlines are kept as clause breaks; other space collapses.
			if r == '\n' || r == '\r' {
				if len(runes) > 0 && runes[len(runes)-1] == ' ' {
					runes[len(runes)-1] = '\n'
				} else if len(runes) == 0 || runes[len(runes)-1] != '\n' {
					runes = append(runes, '\n')
					offs = append(offs, i)
				}
				space = true
			} else if unicode.IsSpace(r) && !space && len(runes) > 0 {
				runes = append(runes, ' ')
				offs = append(offs, i)
				space = true
			}
			i++
			continue
		}
		space = false
		if !hasTrad && n.isTrad(r) {
			hasTrad = true
		}
		runes = append(runes, r)
		offs = append(offs, i)
		i++
	}
	for len(runes) > 0 && (runes[len(runes)-1] == ' ' || runes[len(runes)-1] == '\n') {
		runes = runes[:len(runes)-1]
		offs = offs[:len(offs)-1]
	}
	if hasTrad {
		n.toSimplified(runes)
	}
	offs = append(offs, i)
	return Normalized{Text: string(runes), Offs: offs}
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
