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

// MaskPII replaces personal numbers with '*', one '*' per masked character,
// so every code-point offset into the text stays valid. It runs before
// anything is stored, indexed or analyzed.
//
//   - 18-digit resident ID numbers with a valid GB 11643 check digit:
//     all but the first 6 and last 4 characters
//   - bank card numbers, 16–19 digits passing the Luhn check: all but the
//     first 6 and last 4
//   - mobile numbers (1[3-9] + 9 digits, optional +86/86 prefix): the middle 4
//   - landlines (0 + 2–3 digit area code, 7–8 digits, optional '-' or ' '):
//     all but the last 4; 400/800 service numbers are not personal and stay
//   - e-mail addresses: the local part after its first character
//
// Digits adjacent to other digits never match a shorter pattern, so an order
// number is not half-masked as a phone number.
func MaskPII(s string) (string, PIICounts) {
	var c PIICounts
	if !hasDigitOrAt(s) {
		return s, c
	}
	b := []byte(s)
	masked := false
	for i := 0; i < len(b); {
		if b[i] == '@' {
			if maskEmail(b, i) {
				c.Email++
				masked = true
			}
			i++
			continue
		}
		if !isDigit(b[i]) && !((b[i] == '+') && i+1 < len(b) && isDigit(b[i+1])) {
			i++
			continue
		}
		// A digit run, allowing single '-' or ' ' separators (landlines,
		// cards written in groups of four).
		start := i
		if b[i] == '+' {
			i++
		}
		end := scanNumber(b, i)
		if maskRun(b, start, end, &c, " -") {
			masked = true
		}
		i = max(end, start+1)
	}
	if !masked {
		return s, c
	}
	return string(b), c
}

func hasDigitOrAt(s string) bool {
	for i := 0; i < len(s); i++ {
		if isDigit(s[i]) || s[i] == '@' {
			return true
		}
	}
	return false
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// scanNumber returns the end of the number starting at i: digits, a single
// '-' or ' ' between digits, and an X after 17 digits (ID numbers).
func scanNumber(b []byte, i int) int {
	end, n := i, 0
	for j := i; j < len(b); j++ {
		switch {
		case isDigit(b[j]):
			n++
			end = j + 1
		case (b[j] == 'X' || b[j] == 'x') && n == 17:
			return j + 1
		case (b[j] == '-' || b[j] == ' ') && j+1 < len(b) && isDigit(b[j+1]) && n > 0:
		default:
			return end
		}
	}
	return end
}

// maskRun masks b[start:end] if it is a personal number; if not, it tries
// the pieces between separators (first spaces, then dashes), so two numbers
// written side by side are each recognised.
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
		any := false
		from := start
		for j := start; j <= end; j++ {
			if j == end || b[j] == sep {
				if j > from && maskRun(b, from, j, c, seps[k+1:]) {
					any = true
				}
				from = j + 1
			}
		}
		return any
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

func classify(d []byte) string {
	n := len(d)
	switch {
	case n == 18 && validID(d):
		return "id"
	case n >= 16 && n <= 19 && d[n-1] != 'X' && luhn(d):
		return "bank"
	case n == 11 && d[0] == '1' && d[1] >= '3' && d[1] <= '9':
		return "mobile"
	case n == 13 && d[0] == '8' && d[1] == '6' && d[2] == '1' && d[3] >= '3' && d[3] <= '9':
		return "mobile" // 86 prefix
	case n >= 10 && n <= 12 && d[0] == '0' && d[1] != '0':
		return "landline"
	}
	return ""
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
	if start == at || !dot || end == at+1 || !utf8.Valid(b[start:end]) {
		return false
	}
	for j := start + 1; j < at; j++ {
		b[j] = '*'
	}
	return true
}
