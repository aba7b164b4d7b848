package analyzer_test

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"testing"
	"time"

	"dongting/analyzer"
	"dongting/analyzer/analyzertest"
	"dongting/analyzer/demo"
	"dongting/data"
)

var updateAnalyses = flag.Bool("analyses.update", false, "rewrite testdata/analyses.jsonl.gz from this build")

// analysesFixture pins what the analyzer makes of a fixed set of records:
// the golden tagging set, the demo samples, generated demo records (plain
// and joined into letters long enough for the scene and red-line models)
// and texts that take the rarer paths (traditional characters, personal
// numbers, transcripts, odd spacing). Work that is meant to change no
// output (speed, refactoring) must leave it as it is; a change to rules,
// lexicons or the model changes it on purpose, and then the fixture is
// rewritten with -analyses.update and the diff reviewed.
const analysesFixture = "testdata/analyses.jsonl.gz"

// pinned is one record's line in the fixture: its analysis (with the
// masked text, which the JSON form leaves out) and a hash of the model
// features it yields for training.
type pinned struct {
	ID       string             `json:"id"`
	Analysis *analyzer.Analysis `json:"analysis"`
	Text     string             `json:"text"`
	Features string             `json:"features"`
}

func fixtureRecords(t *testing.T) []analyzer.Record {
	t.Helper()
	fsys := data.FS()
	var recs []analyzer.Record
	eachJSONLine(t, fsys, "eval/property_tags.jsonl", func(i int, line []byte) {
		var g struct {
			Text string `json:"text"`
		}
		if err := json.Unmarshal(line, &g); err != nil {
			t.Fatal(err)
		}
		recs = append(recs, analyzer.Record{ID: fmt.Sprintf("golden-%d", i), Text: g.Text})
	})
	eachJSONLine(t, fsys, "demo/samples.jsonl", func(i int, line []byte) {
		var r analyzer.Record
		if err := json.Unmarshal(line, &r); err != nil {
			t.Fatal(err)
		}
		recs = append(recs, r)
	})
	tm, err := demo.Load(fsys)
	if err != nil {
		t.Fatal(err)
	}
	g := demo.NewGenerator(tm, 7, time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC))
	var letter []string
	letters := 0
	sep := []string{"\n", "", "。", " "}
	for len(recs) < 2400 {
		r := g.Next()
		recs = append(recs, r)
		if r.Text == "" {
			continue
		}
		// Letters: a few records' words in one, past learn.MinSceneWords.
		if letter = append(letter, r.Text); len(letter) == 4+letters%9 {
			letters++
			recs = append(recs, analyzer.Record{ID: fmt.Sprintf("letter-%d", letters), Text: strings.Join(letter, sep[letters%len(sep)])})
			letter = letter[:0]
		}
	}
	for i, s := range []string{
		"電梯壞了三天，物業說沒辦法，太離譜了！！！",
		"我的手机是13812345678，身份证110101199003071237，卡号6222020200112233445，邮箱zhangsan@example.com",
		"电话一三八一二三四五六七八一直没人接，座机0755-83456789也打不通",
		"业主：楼上漏水两天了\n客服：好的我们登记一下\n业主：快点来修！",
		"ＡＢＣ小区　　门禁\t\t坏了，  出入很不方便\r\n\r\n保安也不管",
		"停车费从300涨到500？？？凭什么？",
		"订单号202610011234567890123一直没处理，110也打过了",
		"物业服务很好，保洁阿姨很认真，点赞👍👍",
		"不是很好，但是也不差，一般般吧",
		"\u200b\ufeff小区\x00绿化\x7f被占了",
		"尊敬的领导您好，我是本小区业主，小区业委会成立三年来从未公开过账目，公共收益去向不明，停车场广告位电梯广告的收入都不知道到哪里去了，业主大会也从来没有召开过，我们要求更换物业公司，但是业委会主任一直拖着不办，还私下和物业签了续聘合同，请街道和住建局介入调查，还业主一个公道，谢谢！",
		"我们小区地下车库经常被外来车辆占用，业主自己的车位被别人停了，找保安也不管，晚上巡逻根本看不到人，上个月还有电动车在楼道里飞线充电，楼下有人放液化气罐，消防通道被堵死了，万一着火后果不堪设想，多次反映给物业没有任何回应，希望相关部门尽快处理，保障我们的生命财产安全。",
		"去年交房的时候就发现房子有很多质量问题，墙面空鼓开裂，窗户漏风，卫生间渗水到楼下，开发商说保修期内会维修，结果一年了也没人来修，打电话给客服总是说登记了会安排，到现在还是没有结果，合同上写的精装修标准和实际完全不一样，宣传的地暖和新风系统也没有安装，我们要求退房或者赔偿。",
		"我们这栋楼的住户已经忍受了很久，每天晚上十一点以后楼上还在蹦蹦跳跳，拖椅子的声音特别响，白天也是吵吵闹闹，老人孩子根本睡不好，上门沟通过好几次对方态度很差，找物业调解也没有用，希望能有人出面管一管。",
		"小区里面的老年活动中心一直没有开放，社区说是物业在管，物业说是社区的，老人们平时没有地方下棋打牌，只能在楼下晒太阳，之前说好的社区食堂和日间照料也没有下文，希望能尽快把养老服务搞起来，也方便我们上班的子女。",
		"新来的管家每次在群里发通知都很敷衍，业主提的问题从来不回复，打电话过去要么不接要么说在忙，前台的工作人员态度也很冷淡，问个事情爱搭不理的，以前的管家很负责，现在这个完全不行，希望公司重视一下员工的培训和考核。",
		"楼里有几户人家把房子隔成很多小间出租，住了几十个人，进进出出很乱，电梯里经常有垃圾，楼道里堆满了杂物和电动车，还有人在楼道里抽烟，晚上吵到很晚，这种情况存在很大的安全隐患，物业也不管，请有关部门查处。",
		"小区门口的幼儿园一直没有开办，当初买房的时候销售说配套有幼儿园和小学，现在孩子要上学了只能去很远的地方，会所和游泳池也一直锁着不开放，健身器材坏了没人修，绿化带被人种了菜，草坪也被踩得光秃秃的，垃圾站的味道很大，夏天蚊子苍蝇特别多，物业费一分钱没少收，服务却越来越差。",
	} {
		recs = append(recs, analyzer.Record{ID: fmt.Sprintf("edge-%d", i), Text: s})
	}
	return recs
}

func eachJSONLine(t *testing.T, fsys fs.FS, name string, fn func(i int, line []byte)) {
	t.Helper()
	src, err := fs.ReadFile(fsys, name)
	if err != nil {
		t.Fatal(err)
	}
	i := 0
	for line := range bytes.Lines(src) {
		if line = bytes.TrimSpace(line); len(line) > 0 {
			fn(i, line)
			i++
		}
	}
}

func hashFeatures(all, words []uint32) string {
	h := sha256.New()
	binary.Write(h, binary.LittleEndian, uint32(len(all)))
	binary.Write(h, binary.LittleEndian, all)
	binary.Write(h, binary.LittleEndian, words)
	return hex.EncodeToString(h.Sum(nil)[:12])
}

// TestAnalysesUnchanged compares the analyses of the fixture's records with
// the ones recorded in testdata (see analysesFixture).
func TestAnalysesUnchanged(t *testing.T) {
	a := analyzertest.New(t, "property")
	var got [][]byte
	for _, r := range fixtureRecords(t) {
		id := r.ID
		fr := r
		res, err := a.Analyze(&r)
		if err != nil {
			t.Fatalf("%s: %v", id, err)
		}
		all, words, err := a.Features(&fr)
		if err != nil {
			t.Fatalf("%s: %v", id, err)
		}
		line, err := json.Marshal(pinned{ID: id, Analysis: res, Text: res.Text, Features: hashFeatures(all, words)})
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, line)
	}
	if *updateAnalyses {
		var buf bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
		for _, line := range got {
			zw.Write(line)
			zw.Write([]byte{'\n'})
		}
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(analysesFixture, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %d analyses to %s", len(got), analysesFixture)
		return
	}
	f, err := os.Open(analysesFixture)
	if err != nil {
		t.Fatalf("%v (write it with -analyses.update)", err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(zr)
	sc.Buffer(nil, 1<<24)
	var want [][]byte
	for sc.Scan() {
		want = append(want, bytes.Clone(sc.Bytes()))
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(want) != len(got) {
		t.Fatalf("%d analyses, the fixture has %d", len(got), len(want))
	}
	bad := 0
	for i := range got {
		if !bytes.Equal(got[i], want[i]) {
			if bad++; bad <= 3 {
				t.Errorf("analysis %d changed:\n got  %s\n want %s", i, got[i], want[i])
			}
		}
	}
	if bad > 0 {
		t.Errorf("%d of %d analyses changed (rewrite the fixture with -analyses.update only when the change is meant)", bad, len(got))
	}
}
