package learn

import (
	"math"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Features are hashed sparse inputs: words, word bigrams and character
// bigrams of a text as the segmenter cut it. Hashing keeps the model files
// small and needs no vocabulary; collisions at 2^22 buckets are rare for
// the few tens of thousands of features kept.
type Features []uint32

const featureBits = 22

const (
	fnvOffset = 2166136261
	fnvPrime  = 16777619
)

// fnvString folds s into the FNV-1a hash h, without allocating.
func fnvString(h uint32, s string) uint32 {
	for i := 0; i < len(s); i++ {
		h ^= uint32(s[i])
		h *= fnvPrime
	}
	return h
}

func fnvByte(h uint32, b byte) uint32 {
	h ^= uint32(b)
	return h * fnvPrime
}

func fnvRune(h uint32, r rune) uint32 {
	h = fnvByte(h, byte(r))
	h = fnvByte(h, byte(r>>8))
	return fnvByte(h, byte(r>>16))
}

func hashFeature(kind byte, a, b string) uint32 {
	h := fnvByte(fnvOffset, kind)
	h = fnvString(h, a)
	if b != "" {
		h = fnvByte(h, 0)
		h = fnvString(h, b)
	}
	return h & (1<<featureBits - 1)
}

func hashRunes(a, b rune) uint32 {
	h := fnvByte(fnvOffset, 'c')
	h = fnvRune(h, a)
	h = fnvByte(h, 0)
	h = fnvRune(h, b)
	return h & (1<<featureBits - 1)
}

// Polite are the words of letters' formal openings and closings (尊敬的领导,
// 谢谢, 祝工作顺利, 麻烦尽快处理): they say nothing about the matter or the
// writer's satisfaction, and in complaint letters they would teach a model
// that thanks mean anger. The models never see them.
var Polite = map[string]bool{
	"尊敬": true, "尊敬的": true, "领导": true, "领导们": true, "您好": true, "你好": true, "谢谢": true, "感谢": true,
	"谢谢您": true, "非常感谢": true, "万分感谢": true, "感激": true, "致敬": true, "此致": true, "敬礼": true, "祝": true,
	"工作顺利": true, "身体健康": true, "顺利": true, "辛苦": true, "辛苦了": true, "麻烦": true, "恳请": true, "恳求": true,
	"拜托": true, "百忙之中": true, "百忙": true, "盼复": true, "望": true, "贵": true,
}

// Extract turns words (a text's tokens, in order) into features. Words that
// are only punctuation or spaces are skipped; digits are folded to one
// feature so numbers do not each become a word. Duplicates are kept (a
// word said three times counts three times) but the caller may dedupe.
func Extract(words []string) Features { return append(ExtractWords(words), CharPairs(words)...) }

// ExtractWords is Extract without the character pairs: half the features,
// for the model that reads every record (sentiment).
func ExtractWords(words []string) Features {
	return AppendWords(make(Features, 0, len(words)*2), words)
}

// AppendWords appends ExtractWords(words) to out, so a caller analysing
// record after record can reuse one buffer.
func AppendWords(out Features, words []string) Features {
	prev := ""
	for _, w := range words {
		if !contentWord(w) || Polite[w] {
			prev = ""
			continue
		}
		if isNumber(w) {
			w = "#"
		}
		out = append(out, hashFeature('w', w, ""))
		if prev != "" {
			out = append(out, hashFeature('b', prev, w))
		}
		prev = w
	}
	return out
}

// CharPairs are the character bigrams of the content words, across word
// boundaries. A feature that occurs twice counts twice.
func CharPairs(words []string) Features {
	return AppendCharPairs(make(Features, 0, len(words)*2), words)
}

// AppendCharPairs appends CharPairs(words) to out.
func AppendCharPairs(out Features, words []string) Features {
	var prevRune rune = -1
	for _, w := range words {
		if !contentWord(w) || Polite[w] {
			prevRune = -1
			continue
		}
		if isNumber(w) {
			w = "#"
		}
		for _, r := range w {
			if prevRune >= 0 {
				out = append(out, hashRunes(prevRune, r))
			}
			prevRune = r
		}
	}
	return out
}

func contentWord(w string) bool {
	if r, _ := utf8.DecodeRuneInString(w); r >= 0x4E00 && r <= 0x9FFF {
		return true // a CJK ideograph (a letter), as most words start
	}
	for _, r := range w {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			return true
		}
	}
	return false
}

func isNumber(w string) bool {
	if r, _ := utf8.DecodeRuneInString(w); r != '.' && !unicode.IsDigit(r) {
		return false // most words: no need to check the rest
	}
	if w == "" || !utf8.ValidString(w) {
		return false
	}
	for _, r := range w {
		if !unicode.IsDigit(r) && r != '.' {
			return false
		}
	}
	return true
}

// ScoreFeature is the lexicon's score of a text as a feature, in eight
// buckets, so a model can learn how far to trust it.
func ScoreFeature(score float64) uint32 {
	b := int(math.Floor((score + 1) * 4))
	return hashFeature('l', strconv.Itoa(max(0, min(7, b))), "")
}

// LengthFeature is a text's length (in words) as a feature, in powers of
// two, so a model can tell a one-line comment from a letter.
func LengthFeature(words int) uint32 {
	b := 0
	for n := words; n > 1; n >>= 1 {
		b++
	}
	return hashFeature('n', strconv.Itoa(min(b, 12)), "")
}

// MinSceneWords is the shortest text (in words) the scene model decides
// for. It learned from letters of a hundred words and more; on a one-line
// hotline note it has too little to go on, and rules decide alone.
const MinSceneWords = 40

// EstateWords say that a text is about a home or an estate. Most messages
// to a city's hotline are not (roads, schools, buses, benefits), and there
// the rules' words (学校, 通知, 垃圾) are passing mentions; a rule's scene
// found beside one of these words is weighed apart from one found without.
var EstateWords = []string{"小区", "物业", "业主", "开发商", "楼盘", "住户", "居民楼", "楼栋", "单元", "房子", "购房", "交房", "社区"}

// MentionsEstate says whether any word holds one of EstateWords.
func MentionsEstate(words []string) bool {
	for _, w := range words {
		for _, e := range EstateWords {
			if strings.Contains(w, e) {
				return true
			}
		}
	}
	return false
}

// RuleFeatures are what the rules found in a text, as inputs of the scene
// model: each scene and each node a rule found, and each scene joined with
// whether the text mentions the estate. A linear model cannot learn alone
// that 学校 counts only beside 小区; this pair lets it weigh the rule's
// scene differently on and off the estate.
func RuleFeatures(scenes, nodes []string, estate bool) Features {
	out := make(Features, 0, 2*len(scenes)+len(nodes))
	on := "0"
	if estate {
		on = "1"
	}
	for _, s := range scenes {
		out = append(out, hashFeature('r', s, ""), hashFeature('e', s, on))
	}
	for _, n := range nodes {
		out = append(out, hashFeature('t', n, ""))
	}
	return out
}
