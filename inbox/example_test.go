package inbox_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"

	"github.com/csmsg/csmsg"
	"github.com/csmsg/csmsg/csmsgtest"
	"github.com/csmsg/csmsg/inbox"
)

// A Receiver answers WeChat as soon as the push is in the inbox file; Run
// handles it later, and a reply sent inside Once is not sent again when
// the job runs again.
func Example() {
	dir, _ := os.MkdirTemp("", "inbox")
	defer os.RemoveAll(dir)
	ib, err := inbox.Open(filepath.Join(dir, "bot.inbox"), inbox.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer ib.Close()
	cfg := csmsg.Config{Token: "token", Dedup: ib}
	r, _ := csmsg.NewReceiver(cfg)
	h := r.Handler(ib.Accept)

	// WeChat pushes a message, and retries it.
	msg := &csmsg.Text{Header: csmsg.Header{ToUserName: "gh_97417a04a28d", FromUserName: "o-user", MsgType: "text"},
		MsgID: "1", Content: "where is my order?"}
	for range 2 {
		req, _ := csmsgtest.NewRequest("/wx", cfg, csmsgtest.ModePlaintext, msg, csmsg.FormatJSON)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		fmt.Println(w.Code, w.Body.String())
	}

	ctx, stop := context.WithCancel(context.Background())
	ib.Run(ctx, func(ctx context.Context, job *inbox.Job) error {
		defer stop() // one job in this example
		_, err := job.Once(ctx, "reply", func(ctx context.Context) ([]byte, error) {
			fmt.Println("reply to", job.Message.MsgHeader().FromUserName, "about:", job.Message.(*csmsg.Text).Content)
			return nil, nil
		})
		return err
	})
	st, _ := ib.Stats(context.Background())
	fmt.Printf("%+v\n", st)
	// Output:
	// 200 success
	// 200 success
	// reply to o-user about: where is my order?
	// {Queued:0 Retrying:0 Running:0 Dead:0 Bytes:0 OldestAge:0s}
}
