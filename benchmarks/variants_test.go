package benchmarks

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"github.com/csmsg/csmsg"
)

// numVariants is how many different bodies BenchmarkParseVaried cycles
// through for each body.
const numVariants = 256

// variants returns numVariants bodies made from body by giving its values
// other contents: another openid, time, MsgId, text, URL, media id... of
// varying lengths, Chinese or not, written as the body writes them (CDATA
// or escaped text in XML, escapes where JSON needs them). Empty values stay
// empty, and the kind's MsgType, Event, ToUserName and AppId stay as they
// are. The bodies are the same for every run.
func variants(tb testing.TB, name string, body []byte) [][]byte {
	rng := rand.New(rand.NewPCG(1, uint64(len(body))))
	out := make([][]byte, numVariants)
	for i := range out {
		v := body
		for _, field := range []string{"FromUserName", "CreateTime", "MsgId", "Content", "PicUrl", "MediaId", "Title", "PagePath", "ThumbUrl", "ThumbMediaId", "SessionFrom"} {
			var err error
			if v, err = replaceValue(v, field, isXML(name), func(old string) string { return newValue(rng, field, old, i) }); err != nil {
				tb.Fatalf("%s: %v", name, err)
			}
		}
		out[i] = v
	}
	return out
}

const idChars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

func randomID(rng *rand.Rand, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = idChars[rng.IntN(len(idChars))]
	}
	return string(b)
}

// sentences are message texts of the kinds users send.
var sentences = []string{
	"你好",
	"你好，请问我的订单什么时候发货？",
	"在吗",
	"我想退货，商品有质量问题，拍了照片，怎么给你们发？",
	"好的，谢谢！",
	"hello",
	"Is this still available?",
	"订单号 20240425001 还没到，已经五天了",
	"能开发票吗？公司抬头：某某科技有限公司",
	"👍",
	"OK 收到",
	"请问这款耳机支持降噪吗？续航多久？有没有优惠券可以用？",
	"限时特惠：新款蓝牙耳机",
	"周末有活动吗",
	"Where is my parcel? Tracking says delivered but nothing here.",
	"谢谢客服小姐姐～",
}

// newValue returns the i-th variant's value of field, whose value in the
// original body is old ("" stays "").
func newValue(rng *rand.Rand, field, old string, i int) string {
	if old == "" {
		return ""
	}
	switch field {
	case "FromUserName":
		return "o" + randomID(rng, 27)
	case "CreateTime":
		n, err := strconv.ParseInt(old, 10, 64)
		if err != nil {
			return old
		}
		return strconv.FormatInt(n+int64(i)*37, 10)
	case "MsgId":
		return strconv.FormatUint(6_000_000_000_000_000_000+rng.Uint64N(3_000_000_000_000_000_000), 10)
	case "Content", "Title":
		return sentences[rng.IntN(len(sentences))]
	case "PicUrl", "ThumbUrl":
		return "http://mmbiz.qpic.cn/mmbiz_jpg/" + randomID(rng, 30+rng.IntN(20)) + "/0?wx_fmt=jpeg"
	case "MediaId", "ThumbMediaId":
		return randomID(rng, 64)
	case "PagePath":
		return "pages/goods/detail?id=" + strconv.Itoa(rng.IntN(1_000_000)) + "&from=share"
	case "SessionFrom":
		if strings.HasPrefix(old, "{") {
			return fmt.Sprintf(`{"page":"order","orderId":"2024%07d"}`, rng.IntN(10_000_000))
		}
		return "商品详情页|goods_id=" + strconv.Itoa(rng.IntN(100_000))
	}
	return old
}

// replaceValue replaces the value of the first field named name in a flat
// XML or JSON body with what value returns given the old one, both
// decoded, and writes the new one as the old one was written.
func replaceValue(body []byte, name string, isXML bool, value func(string) string) ([]byte, error) {
	if isXML {
		return replaceXMLValue(body, name, value)
	}
	return replaceJSONValue(body, name, value)
}

func replaceXMLValue(body []byte, name string, value func(string) string) ([]byte, error) {
	open, closing := []byte("<"+name+">"), []byte("</"+name+">")
	start := bytes.Index(body, open)
	if start < 0 {
		return body, nil
	}
	start += len(open)
	end := bytes.Index(body[start:], closing)
	if end < 0 {
		return nil, fmt.Errorf("no %s", closing)
	}
	end += start
	raw := string(body[start:end])
	var old string
	cdata := strings.HasPrefix(raw, "<![CDATA[") && strings.HasSuffix(raw, "]]>")
	if cdata {
		old = strings.TrimSuffix(strings.TrimPrefix(raw, "<![CDATA["), "]]>")
	} else {
		var v struct {
			S string `xml:",chardata"`
		}
		if err := xml.Unmarshal([]byte("<a>"+raw+"</a>"), &v); err != nil {
			return nil, err
		}
		old = v.S
	}
	var enc bytes.Buffer
	if cdata {
		enc.WriteString("<![CDATA[" + value(old) + "]]>")
	} else if err := xml.EscapeText(&enc, []byte(value(old))); err != nil {
		return nil, err
	}
	return concat(body[:start], enc.Bytes(), body[end:]), nil
}

func replaceJSONValue(body []byte, name string, value func(string) string) ([]byte, error) {
	key := []byte(`"` + name + `"`)
	i := bytes.Index(body, key)
	if i < 0 {
		return body, nil
	}
	i += len(key)
	for i < len(body) && (body[i] == ' ' || body[i] == ':') {
		i++
	}
	dec := json.NewDecoder(bytes.NewReader(body[i:]))
	dec.UseNumber()
	var old any
	if err := dec.Decode(&old); err != nil {
		return nil, err
	}
	end := i + int(dec.InputOffset())
	var enc []byte
	switch v := old.(type) {
	case json.Number:
		enc = []byte(value(v.String()))
	case string:
		var buf bytes.Buffer
		e := json.NewEncoder(&buf)
		e.SetEscapeHTML(false)
		if err := e.Encode(value(v)); err != nil {
			return nil, err
		}
		enc = bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	default:
		return body, nil
	}
	return concat(body[:i], enc, body[end:]), nil
}

func concat(parts ...[]byte) []byte {
	var out []byte
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// TestVariants checks that the variants are different bodies of the same
// kind that every decoder reads alike.
func TestVariants(t *testing.T) {
	for _, name := range bodies {
		body := readBody(t, name)
		vs := variants(t, name, body)
		seen := map[string]bool{}
		for _, v := range vs {
			seen[string(v)] = true
			msg, err := csmsg.Parse(v)
			if err != nil {
				t.Fatalf("%s: csmsg: %v\n%s", name, err, v)
			}
			orig, _ := csmsg.Parse(body)
			if fmt.Sprintf("%T", msg) != fmt.Sprintf("%T", orig) {
				t.Fatalf("%s: a variant is a %T\n%s", name, msg, v)
			}
			var want flatMessage
			if err := unmarshaler(name)(v, &want); err != nil {
				t.Fatalf("%s: stdlib: %v\n%s", name, err, v)
			}
			if h := msg.MsgHeader(); want.FromUserName != h.FromUserName || want.CreateTime != h.CreateTime {
				t.Fatalf("%s: csmsg %+v, stdlib %+v", name, h, want)
			}
			if isXML(name) {
				continue
			}
			for _, d := range jsonDecoders {
				var got flatMessage
				if err := d.unmarshal(v, &got); err != nil || got != want {
					t.Fatalf("%s: %s: %+v, %v; encoding/json %+v", name, d.name, got, err, want)
				}
			}
		}
		if len(seen) < numVariants*9/10 {
			t.Errorf("%s: only %d different variants", name, len(seen))
		}
	}
}
