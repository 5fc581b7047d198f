package kf

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"strings"

	"github.com/csmsg/csmsg/internal/kfwire"
)

// UploadTempMedia uploads an image as temporary media (uploadTempMedia,
// type=image) and returns its media id, valid for 3 days, for SendImage or
// MiniProgramCard.ThumbMediaID. filename names the file part (the base name
// is used; "" means "media"); its Content-Type is sniffed from the bytes.
//
// It reads r to the end first, at most Config.MaxMediaBytes: a longer
// file is [ErrMediaTooLarge] and nothing is sent. WeChat answers errcode
// 40004 for a file that is not an image.
func (c *Client) UploadTempMedia(ctx context.Context, filename string, r io.Reader) (mediaID string, err error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	data, err := io.ReadAll(io.LimitReader(ctxReader{ctx, r}, c.maxMedia+1))
	if err != nil {
		return "", fmt.Errorf("kf: %s: reading the file: %w", kfwire.PathUpload, err)
	}
	if int64(len(data)) > c.maxMedia {
		return "", fmt.Errorf("%w: %s: more than %d bytes", ErrMediaTooLarge, kfwire.PathUpload, c.maxMedia)
	}
	body, contentType := multipartBody(filename, data)
	err = c.call(ctx, kfwire.PathUpload, func(ctx context.Context, token string) error {
		req, err := c.request(ctx, http.MethodPost, kfwire.PathUpload, token, url.Values{"type": {"image"}}, bytes.NewReader(body))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", contentType)
		var answer kfwire.UploadAnswer
		if err := roundTrip(c.http, req, kfwire.PathUpload, &answer, token); err != nil {
			return err
		}
		if answer.MediaID == "" {
			return badResponse(kfwire.PathUpload, "no media_id")
		}
		mediaID = answer.MediaID
		return nil
	})
	if err != nil {
		return "", err
	}
	return mediaID, nil
}

// multipartBody returns the multipart/form-data body of an upload with its
// Content-Type: one file part named "media".
func multipartBody(filename string, data []byte) ([]byte, string) {
	filename = cleanFilename(filename)
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	h := make(textproto.MIMEHeader)
	h.Set("Content-Disposition", `form-data; name="media"; filename="`+quoteEscaper.Replace(filename)+`"`)
	h.Set("Content-Type", http.DetectContentType(data))
	part, _ := mw.CreatePart(h) // writes to a bytes.Buffer: no error
	part.Write(data)
	mw.Close()
	return buf.Bytes(), mw.FormDataContentType()
}

// quoteEscaper escapes a quoted-string, as mime/multipart does.
var quoteEscaper = strings.NewReplacer("\\", "\\\\", `"`, "\\\"")

// cleanFilename returns the base name of filename without control
// characters, "media" if nothing is left.
func cleanFilename(filename string) string {
	if i := strings.LastIndexAny(filename, `/\`); i >= 0 {
		filename = filename[i+1:]
	}
	filename = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, filename)
	if filename == "" || filename == "." || filename == ".." {
		return "media"
	}
	return filename
}

// GetTempMedia downloads a temporary media (getTempMedia), such as the
// image of an image push (its MediaID), into w and returns its
// Content-Type.
//
// The file is streamed: at most Config.MaxMediaBytes are written to
// w; a longer file is [ErrMediaTooLarge] (refused before anything is
// written if the answer's Content-Length says so, else after MaxMediaBytes,
// and w must then be discarded). WeChat's failure answers are small JSON
// bodies, sometimes labelled text/plain: an answer that starts with '{' is
// read as one, becomes an *[Error] (errcode 40007 for an unknown or
// expired media id) and is never written to w. An answer labelled text/* or
// application/json that is not such an error is [ErrBadResponse]. After any
// error, whatever w holds is not the whole file and must be discarded.
func (c *Client) GetTempMedia(ctx context.Context, mediaID string, w io.Writer) (contentType string, err error) {
	err = c.call(ctx, kfwire.PathGetMedia, func(ctx context.Context, token string) error {
		req, err := c.request(ctx, http.MethodGet, kfwire.PathGetMedia, token, url.Values{"media_id": {mediaID}}, nil)
		if err != nil {
			return err
		}
		resp, err := c.http.Do(req)
		if err != nil {
			return redact(err, token)
		}
		defer resp.Body.Close()
		contentType, err = c.readMedia(resp, w, token)
		return err
	})
	if err != nil {
		return "", err
	}
	return contentType, nil
}

// sniffLen is how much of a media answer is looked at to tell a JSON error
// from a file.
const sniffLen = 512

// readMedia copies the file of a getTempMedia answer to w, or returns the
// error the answer holds.
func (c *Client) readMedia(resp *http.Response, w io.Writer, token string) (string, error) {
	if resp.StatusCode != http.StatusOK {
		return "", badResponse(kfwire.PathGetMedia, "status %d", resp.StatusCode)
	}
	br := bufio.NewReaderSize(resp.Body, sniffLen)
	head, err := br.Peek(sniffLen)
	if err != nil && !errors.Is(err, io.EOF) {
		return "", redact(fmt.Errorf("kf: %s: reading the answer: %w", kfwire.PathGetMedia, err), token)
	}
	if len(head) == 0 {
		return "", badResponse(kfwire.PathGetMedia, "empty answer")
	}
	contentType := resp.Header.Get("Content-Type")
	if looksLikeJSONObject(head) {
		body, err := io.ReadAll(io.LimitReader(br, maxJSONAnswer+1))
		if err != nil {
			return "", redact(fmt.Errorf("kf: %s: reading the answer: %w", kfwire.PathGetMedia, err), token)
		}
		if err := decodeAnswer(kfwire.PathGetMedia, body, nil, token); err != nil {
			return "", err
		}
		return "", badResponse(kfwire.PathGetMedia, "a JSON answer without an errcode")
	}
	mediaType, _, _ := mime.ParseMediaType(contentType)
	if strings.HasPrefix(mediaType, "text/") || mediaType == "application/json" {
		return "", badResponse(kfwire.PathGetMedia, "answer labelled %q is not a file", mediaType)
	}
	if resp.ContentLength > c.maxMedia {
		return "", fmt.Errorf("%w: %s: %d bytes, more than %d", ErrMediaTooLarge, kfwire.PathGetMedia, resp.ContentLength, c.maxMedia)
	}
	ew := &errWriter{w: w}
	if _, err := io.Copy(ew, io.LimitReader(br, c.maxMedia)); err != nil {
		if ew.err != nil {
			return "", fmt.Errorf("kf: %s: writing the file: %w", kfwire.PathGetMedia, err)
		}
		return "", redact(fmt.Errorf("kf: %s: reading the file: %w", kfwire.PathGetMedia, err), token)
	}
	if n, _ := br.Read(make([]byte, 1)); n > 0 {
		return "", fmt.Errorf("%w: %s: more than %d bytes", ErrMediaTooLarge, kfwire.PathGetMedia, c.maxMedia)
	}
	return contentType, nil
}

// errWriter records the error of its writer, to tell it from a read error.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	n, err := e.w.Write(p)
	if err != nil {
		e.err = err
	}
	return n, err
}

// ctxReader reads r until ctx ends.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
