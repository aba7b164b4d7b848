package analyzer

import (
	"strings"
	"unicode/utf8"
)

// PIICounts says how many of each kind of personal number were masked.
type PIICounts struct {
	Mobile   int `json:"mobile"`
	Landline int `json:"landline"`
	IDCard   int `json:"id_card"`
	BankCard int `json:"bank_card"`
	Email    int `json:"email"`
}

// Total is the number of masked items.
func (c PIICounts) Total() int { return c.Mobile + c.Landline + c.IDCard + c.BankCard + c.Email }

// MaskPII replaces personal numbers with '*', one '*' per masked code point,
// so every code-point offset into the text stays valid. It runs before
// anything is stored, indexed or analyzed.
//
// Numbers are recognised in every digit form people type: ASCII, full-width
// (１３８…), Chinese numerals (一三八…, 幺, 两, 〇/零) and any mix of them,
// written together or in groups separated by up to two spaces, dashes or dots
// (full-width and ideographic ones too).
//
//   - resident ID numbers: 18 digits with a valid GB 11643 check digit or a
//     plausible birth date, and 15-digit first-generation numbers with a
//     plausible birth date: all but the first 6 and last 4 characters
//   - bank card numbers, 16–19 digits passing the Luhn check: all but the
//     first 6 and last 4
//   - mobile numbers (1[3-9] + 9 digits, optional +86 / 86 / 0086 prefix):
//     the middle 4
//   - landlines (0 + 2–3 digit area code, 7–8 digits): all but the last 4;
//     400/800 service numbers are not personal and stay
//   - e-mail addresses: the local part after its first character (all of it
//     when it is one or two characters long)
//
// Digits adjacent to other digits never match a shorter pattern, so an order
// number is not half-masked as a phone number.
func MaskPII(s string) (string, PIICounts) {
	var c PIICounts
	if !mayHoldPII(s) {
		return s, c
	}
	// fold is the text as one ASCII byte per code point: digits in any form
	// become '0'–'9', separators ' ', '-', '.', '@' and '+' themselves, Latin
	// letters stay, everything else is foldOther. Matching runs on fold, so
	// its indices are code-point indices into s.
	fold := make([]byte, 0, len(s))
	han := make([]bool, 0, len(s)) // the code point is a Chinese numeral
	for _, r := range s {
		fold = append(fold, foldRune(r))
		_, ok := chineseDigit(r)
		han = append(han, ok)
	}
	orig := append([]byte(nil), fold...)
	maskFolded(fold, han, &c)
	if c.Total() == 0 {
		return s, c
	}
	var b strings.Builder
	b.Grow(len(s))
	i := 0
	for k := 0; k < len(s); {
		_, size := utf8.DecodeRuneInString(s[k:])
		if fold[i] == '*' && orig[i] != '*' {
			b.WriteByte('*')
		} else {
			b.WriteString(s[k : k+size])
		}
		k += size
		i++
	}
	return b.String(), c
}

// foldOther stands for any code point that is not part of a number or an
// e-mail address.
const foldOther = 0x01

// chineseDigit maps a Chinese numeral (as read out in phone numbers) to
// its digit.
func chineseDigit(r rune) (byte, bool) {
	switch r {
	case '〇', '零':
		return '0', true
	case '一', '幺':
		return '1', true
	case '二', '两':
		return '2', true
	case '三':
		return '3', true
	case '四':
		return '4', true
	case '五':
		return '5', true
	case '六':
		return '6', true
	case '七':
		return '7', true
	case '八':
		return '8', true
	case '九':
		return '9', true
	}
	return 0, false
}

func foldRune(r rune) byte {
	switch {
	case r < 0x80:
		if r == 0 {
			return foldOther
		}
		return byte(r)
	case r >= '０' && r <= '９':
		return byte('0' + r - '０')
	case r >= 'Ａ' && r <= 'Ｚ':
		return byte('A' + r - 'Ａ')
	case r >= 'ａ' && r <= 'ｚ':
		return byte('a' + r - 'ａ')
	}
	switch r {
	case '　':
		return ' '
	case '－', '—', '–', '‐', '‑':
		return '-'
	case '．', '。':
		return '.'
	case '＠':
		return '@'
	case '＋':
		return '+'
	case '＿':
		return '_'
	}
	if d, ok := chineseDigit(r); ok {
		return d
	}
	return foldOther
}

// minPIIDigits is the fewest digits of any personal number (a landline:
// 0, a 2-digit area code and 7 digits).
const minPIIDigits = 10

// mayHoldPII is the fast path: text with no '@' and fewer than
// minPIIDigits digits of any form holds nothing to mask. Chinese numerals
// are common words (一直, 三天), so most text has a few.
func mayHoldPII(s string) bool {
	digits := 0
	for _, r := range s {
		if r < 0x80 {
			if r == '@' {
				return true
			}
			if isDigit(byte(r)) {
				digits++
			}
		} else if r == '＠' {
			return true
		} else if _, ok := chineseDigit(r); ok || (r >= '０' && r <= '９') {
			digits++
		}
		if digits >= minPIIDigits {
			return true
		}
	}
	return false
}

// maskFolded masks the personal numbers and addresses of a folded text in
// place, with '*'.
func maskFolded(b []byte, han []bool, c *PIICounts) {
	for i := 0; i < len(b); {
		if b[i] == '@' {
			if maskEmail(b, i) {
				c.Email++
			}
			i++
			continue
		}
		if !isDigit(b[i]) && !(b[i] == '+' && i+1 < len(b) && isDigit(b[i+1])) {
			i++
			continue
		}
		// A digit run, allowing short runs of separators between digits
		// (landlines, numbers written in groups).
		start := i
		if b[i] == '+' {
			i++
		}
		end := scanNumber(b, i)
		if !maskRun(b, start, end, c, " -.") {
			// 电话13812345678一直没人接: a Chinese numeral that is a word
			// (一直) must not spoil the number beside it. Try the parts
			// where the digits change between numerals and figures.
			from := start
			for j := start + 1; j <= end; j++ {
				if j == end || isDigit(b[j]) && isDigit(b[j-1]) && han[j] != han[j-1] {
					if j-from < end-start {
						maskRun(b, from, j, c, " -.")
					}
					from = j
				}
			}
		}
		i = max(end, start+1)
	}
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isSep(c byte) bool { return c == ' ' || c == '-' || c == '.' }

// maxSeps is the longest run of separators allowed between two digits of
// one number.
const maxSeps = 2

// scanNumber returns the end of the number starting at i: digits, up to
// maxSeps separators between digits, and an X after 17 digits (ID numbers).
func scanNumber(b []byte, i int) int {
	end, n := i, 0
	for j := i; j < len(b); j++ {
		switch {
		case isDigit(b[j]):
			n++
			end = j + 1
		case (b[j] == 'X' || b[j] == 'x') && n == 17:
			return j + 1
		case isSep(b[j]) && n > 0 && j-end < maxSeps && nextDigitWithin(b, j):
		default:
			return end
		}
	}
	return end
}

// nextDigitWithin says whether a digit follows the separators at j within
// maxSeps places.
func nextDigitWithin(b []byte, j int) bool {
	for k := j; k < len(b) && k < j+maxSeps+1; k++ {
		if isDigit(b[k]) {
			return true
		}
		if !isSep(b[k]) {
			return false
		}
	}
	return false
}

// maskRun masks b[start:end] if it is a personal number; if not, it tries
// the pieces between separators (first spaces, then dashes, then dots), so
// two numbers written side by side are each recognised.
func maskRun(b []byte, start, end int, c *PIICounts, seps string) bool {
	var digits []byte
	for _, ch := range b[start:end] {
		switch {
		case isDigit(ch):
			digits = append(digits, ch)
		case ch == 'X' || ch == 'x':
			digits = append(digits, 'X')
		}
	}
	if kind := classify(digits); kind != "" {
		mask(b, start, end, digits, kind)
		switch kind {
		case "id":
			c.IDCard++
		case "bank":
			c.BankCard++
		case "mobile":
			c.Mobile++
		case "landline":
			c.Landline++
		}
		return true
	}
	for k := 0; k < len(seps); k++ {
		sep := seps[k]
		if !bytesContains(b[start:end], sep) {
			continue
		}
		found := false
		from := start
		for j := start; j <= end; j++ {
			if j == end || b[j] == sep {
				if j > from && maskRun(b, from, j, c, seps[k+1:]) {
					found = true
				}
				from = j + 1
			}
		}
		return found
	}
	return false
}

func bytesContains(b []byte, c byte) bool {
	for _, x := range b {
		if x == c {
			return true
		}
	}
	return false
}

func isMobile(d []byte) bool {
	return len(d) == 11 && d[0] == '1' && d[1] >= '3' && d[1] <= '9'
}

func classify(d []byte) string {
	n := len(d)
	switch {
	case n == 18 && (validID(d) || plausibleBirth(d[6:14])):
		return "id"
	case n == 15 && plausibleBirth(append([]byte("19"), d[6:12]...)):
		return "id"
	case n >= 16 && n <= 19 && d[n-1] != 'X' && luhn(d):
		return "bank"
	case isMobile(d):
		return "mobile"
	case n == 13 && d[0] == '8' && d[1] == '6' && isMobile(d[2:]):
		return "mobile" // 86 prefix
	case n == 15 && d[0] == '0' && d[1] == '0' && d[2] == '8' && d[3] == '6' && isMobile(d[4:]):
		return "mobile" // 0086 prefix
	case n >= 10 && n <= 12 && d[0] == '0' && d[1] != '0':
		return "landline"
	}
	return ""
}

// plausibleBirth says whether YYYYMMDD is a birth date an ID number could
// carry (1900–2099), so an ID with a mistyped check digit is still masked.
func plausibleBirth(d []byte) bool {
	for _, ch := range d {
		if !isDigit(ch) {
			return false
		}
	}
	num := func(s []byte) int {
		v := 0
		for _, ch := range s {
			v = v*10 + int(ch-'0')
		}
		return v
	}
	y, m, day := num(d[:4]), num(d[4:6]), num(d[6:8])
	return y >= 1900 && y <= 2099 && m >= 1 && m <= 12 && day >= 1 && day <= 31
}

var idWeights = [17]int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}

const idCheck = "10X98765432"

func validID(d []byte) bool {
	sum := 0
	for i := 0; i < 17; i++ {
		if !isDigit(d[i]) {
			return false
		}
		sum += int(d[i]-'0') * idWeights[i]
	}
	return idCheck[sum%11] == d[17]
}

func luhn(d []byte) bool {
	sum := 0
	for i := len(d) - 1; i >= 0; i-- {
		v := int(d[i] - '0')
		if (len(d)-1-i)%2 == 1 {
			v *= 2
			if v > 9 {
				v -= 9
			}
		}
		sum += v
	}
	return sum%10 == 0
}

// mask stars the chosen digits of b[start:end], leaving separators alone.
func mask(b []byte, start, end int, digits []byte, kind string) {
	n := len(digits)
	keepHead, keepTail := 0, 4
	switch kind {
	case "id", "bank":
		keepHead = 6
	case "mobile":
		keepHead = n - 8 // 3 digits after any 86 prefix
	}
	k := 0
	for j := start; j < end; j++ {
		if !isDigit(b[j]) && b[j] != 'X' && b[j] != 'x' {
			continue
		}
		if k >= keepHead && k < n-keepTail {
			b[j] = '*'
		}
		k++
	}
}

func isEmailLocal(c byte) bool {
	return isDigit(c) || (c|0x20 >= 'a' && c|0x20 <= 'z') || strings.IndexByte("._%+-", c) >= 0
}

// maskEmail masks the local part before the '@' at i if a domain follows.
func maskEmail(b []byte, at int) bool {
	start := at
	for start > 0 && isEmailLocal(b[start-1]) {
		start--
	}
	end := at + 1
	dot := false
	for end < len(b) && (isEmailLocal(b[end]) && b[end] != '+' && b[end] != '%') {
		if b[end] == '.' {
			dot = true
		}
		end++
	}
	if start == at || !dot || end == at+1 || b[end-1] == '.' {
		return false
	}
	from := start + 1
	if at-start <= 2 {
		from = start // a one- or two-letter local part would be left whole
	}
	for j := from; j < at; j++ {
		b[j] = '*'
	}
	return true
}
