package wordmap

import "testing"

func TestGet(t *testing.T) {
	words := map[string]int{
		"好": 1, "不": 2, "非常": 3, "太离谱": 4, "ok": 5, "1234567": 6, "12345678": 7, "a": 8, "物业不作为": 9, "": 10,
	}
	m := New(words)
	for w, want := range words {
		if got, ok := m.Get(w); !ok || got != want {
			t.Errorf("Get(%q) = %v, %v; want %v", w, got, ok, want)
		}
	}
	for _, w := range []string{"b", "好的", "不好", "非", "太离", "123456", "1234567 ", "物业", "o", "ok\x00", "\x00"} {
		if got, ok := m.Get(w); ok {
			t.Errorf("Get(%q) = %v; want none", w, got)
		}
	}
	if got, ok := New(map[string]int{}).Get("好"); ok {
		t.Errorf("empty map: Get = %v", got)
	}
}

// Many words: the table wraps around and probes past occupied slots.
func TestGetMany(t *testing.T) {
	words := map[string]int{}
	for r := rune(0x4E00); r < 0x4E00+3000; r++ {
		words[string(r)] = int(r)
		words[string(r)+string(r+1)] = -int(r)
	}
	m := New(words)
	for w, want := range words {
		if got, ok := m.Get(w); !ok || got != want {
			t.Fatalf("Get(%q) = %v, %v; want %v", w, got, ok, want)
		}
	}
	for r := rune(0x6000); r < 0x6000+3000; r++ {
		if _, ok := m.Get(string(r)); ok {
			t.Fatalf("Get(%q) found", string(r))
		}
	}
}
