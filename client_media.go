package csmsg

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
)

// Paths of the temporary-media calls.
const (
	uploadPath   = "/cgi-bin/media/upload"
	getMediaPath = "/cgi-bin/media/get"
)

// UploadTempMedia uploads an image as temporary media (uploadTempMedia,
// type=image) and returns its media id, valid for 3 days, for SendImage or
// MiniProgramCard.ThumbMediaID. filename names the file part (the base name
// is used; "" means "media"); its Content-Type is sniffed from the bytes.
//
// It reads r to the end first, at most ClientConfig.MaxMediaBytes: a longer
// file is [ErrMediaTooLarge] and nothing is sent. WeChat answers errcode
// 40004 for a file that is not an image.
func (c *Client) UploadTempMedia(ctx context.Context, filename string, r io.Reader) (mediaID string, err error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	data, err := io.ReadAll(io.LimitReader(ctxReader{ctx, r}, c.maxMedia+1))
	if err != nil {
		return "", fmt.Errorf("csmsg: %s: reading the file: %w", uploadPath, err)
	}
	if int64(len(data)) > c.maxMedia {
		return "", fmt.Errorf("%w: %s: more than %d bytes", ErrMediaTooLarge, uploadPath, c.maxMedia)
	}
	body, contentType := multipartBody(filename, data)
	err = c.call(ctx, uploadPath, func(ctx context.Context, token string) error {
		req, err := c.request(ctx, http.MethodPost, uploadPath, token, url.Values{"type": {"image"}}, bytes.NewReader(body))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", contentType)
		var answer struct {
			MediaID *string `json:"media_id"`
		}
		if err := roundTrip(c.http, req, uploadPath, &answer, token); err != nil {
			return err
		}
		if answer.MediaID == nil || *answer.MediaID == "" {
			return badResponse(uploadPath, "no media_id")
		}
		mediaID = *answer.MediaID
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
// The file is streamed: at most ClientConfig.MaxMediaBytes are written to
// w; a longer file is [ErrMediaTooLarge] (refused before anything is
// written if the answer's Content-Length says so, else after MaxMediaBytes,
// and w must then be discarded). WeChat's failure answers are small JSON
// bodies, sometimes labelled text/plain: an answer that starts with '{' is
// read as one, becomes an *[APIError] (errcode 40007 for an unknown or
// expired media id) and is never written to w. An answer labelled text/* or
// application/json that is not such an error is [ErrBadResponse]. After any
// error, whatever w holds is not the whole file and must be discarded.
func (c *Client) GetTempMedia(ctx context.Context, mediaID string, w io.Writer) (contentType string, err error) {
	err = c.call(ctx, getMediaPath, func(ctx context.Context, token string) error {
		req, err := c.request(ctx, http.MethodGet, getMediaPath, token, url.Values{"media_id": {mediaID}}, nil)
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
		return "", badResponse(getMediaPath, "status %d", resp.StatusCode)
	}
	br := bufio.NewReaderSize(resp.Body, sniffLen)
	head, err := br.Peek(sniffLen)
	if err != nil && !errors.Is(err, io.EOF) {
		return "", redact(fmt.Errorf("csmsg: %s: reading the answer: %w", getMediaPath, err), token)
	}
	if len(head) == 0 {
		return "", badResponse(getMediaPath, "empty answer")
	}
	contentType := resp.Header.Get("Content-Type")
	if looksLikeJSONObject(head) {
		body, err := io.ReadAll(io.LimitReader(br, maxJSONAnswer+1))
		if err != nil {
			return "", redact(fmt.Errorf("csmsg: %s: reading the answer: %w", getMediaPath, err), token)
		}
		if err := decodeAnswer(getMediaPath, body, nil, token); err != nil {
			return "", err
		}
		return "", badResponse(getMediaPath, "a JSON answer without an errcode")
	}
	mediaType, _, _ := mime.ParseMediaType(contentType)
	if strings.HasPrefix(mediaType, "text/") || mediaType == "application/json" {
		return "", badResponse(getMediaPath, "answer labelled %q is not a file", mediaType)
	}
	if resp.ContentLength > c.maxMedia {
		return "", fmt.Errorf("%w: %s: %d bytes, more than %d", ErrMediaTooLarge, getMediaPath, resp.ContentLength, c.maxMedia)
	}
	ew := &errWriter{w: w}
	if _, err := io.Copy(ew, io.LimitReader(br, c.maxMedia)); err != nil {
		if ew.err != nil {
			return "", fmt.Errorf("csmsg: %s: writing the file: %w", getMediaPath, err)
		}
		return "", redact(fmt.Errorf("csmsg: %s: reading the file: %w", getMediaPath, err), token)
	}
	if n, _ := br.Read(make([]byte, 1)); n > 0 {
		return "", fmt.Errorf("%w: %s: more than %d bytes", ErrMediaTooLarge, getMediaPath, c.maxMedia)
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
