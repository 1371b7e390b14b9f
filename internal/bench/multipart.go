package bench

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"sync"
)

// S3's multipart limits (the bench refuses part sizes S3 would reject).
const (
	minPartSize = 5 << 20
	maxParts    = 10_000
)

// uploadQuery is the query of a request on upload id, with extra pairs.
func uploadQuery(id string, extra ...string) string {
	q := url.Values{"uploadId": {id}}
	for i := 0; i+1 < len(extra); i += 2 {
		q.Set(extra[i], extra[i+1])
	}
	return q.Encode()
}

// createUpload starts a multipart upload of key and returns its upload ID.
func (c *client) createUpload(ctx context.Context, key string) (string, error) {
	req, err := c.request(ctx, http.MethodPost, key, "uploads", 0, nil)
	if err != nil {
		return "", err
	}
	resp, err := c.do(req, http.StatusOK)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return "", fmt.Errorf("POST %s?uploads: reading body: %w", req.URL.Path, err)
	}
	id := xmlElement(body, "UploadId")
	if id == "" {
		return "", fmt.Errorf("POST %s?uploads: no UploadId in the answer", req.URL.Path)
	}
	return id, nil
}

// uploadPart sends part n of upload id and returns its ETag.
func (c *client) uploadPart(ctx context.Context, key, id string, n int, size int64, newBody func() io.Reader) (string, error) {
	req, err := c.request(ctx, http.MethodPut, key, uploadQuery(id, "partNumber", strconv.Itoa(n)), size, newBody)
	if err != nil {
		return "", err
	}
	resp, err := c.do(req, http.StatusOK)
	if err != nil {
		return "", err
	}
	discard(resp)
	etag := resp.Header.Get("ETag")
	if etag == "" {
		return "", fmt.Errorf("PUT %s part %d: no ETag in the answer", req.URL.Path, n)
	}
	return etag, nil
}

// completeUpload completes upload id from its parts' ETags, in order. S3
// may answer 200 with an error document, which is an error here.
func (c *client) completeUpload(ctx context.Context, key, id string, etags []string) error {
	var b bytes.Buffer
	b.WriteString("<CompleteMultipartUpload>")
	for i, etag := range etags {
		fmt.Fprintf(&b, "<Part><PartNumber>%d</PartNumber><ETag>%s</ETag></Part>", i+1, etag)
	}
	b.WriteString("</CompleteMultipartUpload>")
	body := b.Bytes()
	req, err := c.request(ctx, http.MethodPost, key, uploadQuery(id), int64(len(body)), func() io.Reader { return bytes.NewReader(body) })
	if err != nil {
		return err
	}
	resp, err := c.do(req, http.StatusOK)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return fmt.Errorf("POST %s?uploadId: reading body: %w", req.URL.Path, err)
	}
	if code := xmlElement(answer, "Code"); code != "" {
		return &statusError{method: req.Method, path: req.URL.Path, status: resp.StatusCode, code: code, message: xmlElement(answer, "Message")}
	}
	return nil
}

// abortUpload abandons upload id (after a failed part), best effort.
func (c *client) abortUpload(ctx context.Context, key, id string) {
	req, err := c.request(ctx, http.MethodDelete, key, uploadQuery(id), 0, nil)
	if err != nil {
		return
	}
	if resp, err := c.do(req, http.StatusNoContent, http.StatusOK, http.StatusNotFound); err == nil {
		discard(resp)
	}
}

// getRange downloads bytes [off, off+n) of key through buf and fails
// unless a 206 with exactly n bytes arrives.
func (c *client) getRange(ctx context.Context, key string, off, n int64, buf []byte) (int64, error) {
	req, err := c.request(ctx, http.MethodGet, key, "", 0, nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Range", fmt.Sprintf("bytes=%d-%d", off, off+n-1))
	// The Range header is not signed (the v4 signer has run); S3 does not
	// require it to be.
	resp, err := c.do(req, http.StatusPartialContent)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var got int64
	for {
		m, err := resp.Body.Read(buf)
		got += int64(m)
		if err == io.EOF {
			break
		}
		if err != nil {
			return got, fmt.Errorf("GET %s range %d+%d: reading body after %d bytes: %w", req.URL.Path, off, n, got, err)
		}
	}
	if got != n {
		return got, fmt.Errorf("GET %s range %d+%d: got %d bytes", req.URL.Path, off, n, got)
	}
	return got, nil
}

// parts splits size bytes into parts of partSize (the last one shorter):
// each part's offset and length.
func parts(size, partSize int64) [][2]int64 {
	var out [][2]int64
	for off := int64(0); off < size; off += partSize {
		out = append(out, [2]int64{off, min(partSize, size-off)})
	}
	return out
}

// forParts runs fn on every part, conc at a time, and returns the first
// error; after one, the parts not started are skipped.
func forParts(ctx context.Context, ps [][2]int64, conc int, fn func(ctx context.Context, i int, off, n int64) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg    sync.WaitGroup
		once  sync.Once
		first error
		next  = make(chan int)
	)
	for range min(conc, len(ps)) {
		wg.Go(func() {
			for i := range next {
				if err := fn(ctx, i, ps[i][0], ps[i][1]); err != nil {
					once.Do(func() { first = err; cancel() })
				}
			}
		})
	}
	for i := range ps {
		if ctx.Err() != nil {
			break
		}
		next <- i
	}
	close(next)
	wg.Wait()
	if first == nil {
		first = ctx.Err()
	}
	return first
}

// putMultipart uploads size bytes of newPart's bodies to key as a
// multipart upload of partSize parts, conc in flight, as the SDKs'
// transfer managers do. newPart(off, n) returns a fresh reader over the
// object's bytes [off, off+n).
func (c *client) putMultipart(ctx context.Context, key string, size, partSize int64, conc int, newPart func(off, n int64) io.Reader) error {
	id, err := c.createUpload(ctx, key)
	if err != nil {
		return err
	}
	ps := parts(size, partSize)
	etags := make([]string, len(ps))
	err = forParts(ctx, ps, conc, func(ctx context.Context, i int, off, n int64) error {
		etag, err := c.uploadPart(ctx, key, id, i+1, n, func() io.Reader { return newPart(off, n) })
		etags[i] = etag
		return err
	})
	if err == nil {
		err = c.completeUpload(ctx, key, id, etags)
	}
	if err != nil {
		c.abortUpload(context.WithoutCancel(ctx), key, id)
	}
	return err
}

// getRanges downloads the size bytes of key as ranged GETs of partSize,
// conc in flight, as the transfer managers download large objects.
func (c *client) getRanges(ctx context.Context, key string, size, partSize int64, conc int) (int64, error) {
	ps := parts(size, partSize)
	bufs := make(chan []byte, conc)
	for range conc {
		bufs <- make([]byte, 256<<10)
	}
	err := forParts(ctx, ps, conc, func(ctx context.Context, _ int, off, n int64) error {
		buf := <-bufs
		defer func() { bufs <- buf }()
		_, err := c.getRange(ctx, key, off, n, buf)
		return err
	})
	if err != nil {
		return 0, err
	}
	return size, nil
}
