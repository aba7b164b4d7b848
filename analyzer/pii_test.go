package analyzer

import (
	"testing"
	"unicode/utf8"
)

func TestMaskPII(t *testing.T) {
	tests := []struct {
		in, want string
		counts   PIICounts
	}{
		{"我的手机13812345678请回电", "我的手机138****5678请回电", PIICounts{Mobile: 1}},
		{"电话+86 138 1234 5678", "电话+86 138 **** 5678", PIICounts{Mobile: 1}},
		{"座机0755-12345678", "座机****-****5678", PIICounts{Landline: 1}},
		{"打400-888-8888没人接", "打400-888-8888没人接", PIICounts{}}, // service number, not personal
		{"身份证110101199003071233", "身份证110101********1233", PIICounts{IDCard: 1}},
		{"身份证44030519851231107x", "身份证440305********107x", PIICounts{IDCard: 1}},
		{"号码110101199003071234错", "号码110101********1234错", PIICounts{IDCard: 1}}, // bad check digit, plausible birth date
		{"号码110101199013071234错", "号码110101199013071234错", PIICounts{}},          // bad check digit, month 13
		{"旧身份证110101900307123", "旧身份证110101*****7123", PIICounts{IDCard: 1}},     // 15 digits
		// Every digit form: full-width, Chinese numerals, mixed, spaced, dashed, dotted.
		{"手机１３８１２３４５６７８", "手机１３８****５６７８", PIICounts{Mobile: 1}},
		{"手机一三八一二三四五六七八", "手机一三八****五六七八", PIICounts{Mobile: 1}},
		{"手机幺三八幺二三四五六七八", "手机幺三八****五六七八", PIICounts{Mobile: 1}},
		{"电话138一二三四５６７８", "电话138****５６７８", PIICounts{Mobile: 1}},
		{"电话138  1234  5678", "电话138  ****  5678", PIICounts{Mobile: 1}},
		{"电话138-1234-5678", "电话138-****-5678", PIICounts{Mobile: 1}},
		{"电话138.1234.5678", "电话138.****.5678", PIICounts{Mobile: 1}},
		{"电话１３８　１２３４　５６７８", "电话１３８　****　５６７８", PIICounts{Mobile: 1}},
		{"电话+8613812345678", "电话+86138****5678", PIICounts{Mobile: 1}},
		{"电话＋８６ １３８１２３４５６７８", "电话＋８６ １３８****５６７８", PIICounts{Mobile: 1}},
		{"电话008613812345678", "电话0086138****5678", PIICounts{Mobile: 1}},
		{"身份证１１０１０１１９９００３０７１２３３", "身份证１１０１０１********１２３３", PIICounts{IDCard: 1}},
		{"邮箱a@b.cn", "邮箱*@b.cn", PIICounts{Email: 1}},
		{"邮箱ab@qq.com", "邮箱**@qq.com", PIICounts{Email: 1}},
		{"邮箱ａｂｃ＠ｑｑ．ｃｏｍ", "邮箱ａ**＠ｑｑ．ｃｏｍ", PIICounts{Email: 1}},
		{"三楼二单元一零一室", "三楼二单元一零一室", PIICounts{}},
		{"物业电话13812345678一直没人接", "物业电话138****5678一直没人接", PIICounts{Mobile: 1}},
		{"打了一三八一二三四五六七八3次", "打了一三八****五六七八3次", PIICounts{Mobile: 1}},
		{"身份证110101199003071233一张", "身份证110101********1233一张", PIICounts{IDCard: 1}},
		{"2023.11.22下午", "2023.11.22下午", PIICounts{}},
		{"卡号6222020200112233446", "卡号622202*********3446", PIICounts{BankCard: 1}},
		{"卡号4111 1111 1111 1111", "卡号4111 11** **** 1111", PIICounts{BankCard: 1}},
		{"卡号4111111111111112", "卡号4111111111111112", PIICounts{}}, // fails Luhn
		{"邮箱zhang.san@example.com", "邮箱z********@example.com", PIICounts{Email: 1}},
		{"订单号2023112212345678901", "订单号2023112212345678901", PIICounts{}}, // 19 digits, not Luhn
		{"13812345678 0755-12345678", "138****5678 ****-****5678", PIICounts{Mobile: 1, Landline: 1}},
		{"房号3栋2单元1801", "房号3栋2单元1801", PIICounts{}},
		{"没有数字", "没有数字", PIICounts{}},
		{"@@@ a@b", "@@@ a@b", PIICounts{}},
	}
	for _, tt := range tests {
		got, c := MaskPII(tt.in)
		if got != tt.want || c != tt.counts {
			t.Errorf("MaskPII(%q) = %q %+v, want %q %+v", tt.in, got, c, tt.want, tt.counts)
		}
		if utf8.RuneCountInString(got) != utf8.RuneCountInString(tt.in) {
			t.Errorf("MaskPII(%q) changed the length", tt.in)
		}
	}
}

func FuzzMaskPII(f *testing.F) {
	for _, s := range []string{"13812345678", "0755-12345678", "110101199003071233", "a@b.cn", "+86 138 1234 5678", "4111 1111 1111 1111"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, _ := MaskPII(s)
		if utf8.RuneCountInString(got) != utf8.RuneCountInString(s) {
			t.Fatalf("code points changed: %q → %q", s, got)
		}
		again, _ := MaskPII(got)
		if again != got {
			t.Fatalf("masking is not idempotent: %q → %q → %q", s, got, again)
		}
	})
}
