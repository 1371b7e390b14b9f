package batch

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/sluicehq/sluice/internal/objstore"
)

// Manifest formats.
const (
	FormatCSV            = "S3BatchOperations_CSV_20180820"
	FormatInventory      = "S3InventoryReport_CSV_20161130"
	FormatInventory2021  = "S3InventoryReport_CSV_20211130"
	formatLocal          = "local" // a generated manifest in the job's directory
	fieldIgnore          = "Ignore"
	fieldBucket          = "Bucket"
	fieldKey             = "Key"
	fieldVersionID       = "VersionId"
	maxManifestJSON      = 16 << 20
	maxManifestRowLength = 64 << 10
)

// Source is the manifest a job's tasks are read from, as preparation
// fixed it: the object version that was checked against the job's ETag
// (so that a manifest overwritten later is noticed, not silently read),
// or the manifest sluice generated into the job's directory.
type Source struct {
	// Format is FormatCSV, FormatInventory or formatLocal.
	Format string `json:"format"`
	// Bucket, Key, VersionID and ETag locate the manifest object (the
	// CSV, or the inventory's manifest.json).
	Bucket    string `json:"bucket,omitempty"`
	Key       string `json:"key,omitempty"`
	VersionID string `json:"versionId,omitempty"`
	ETag      string `json:"etag,omitempty"`
	// Fields are the CSV columns (FormatCSV).
	Fields []string `json:"fields,omitempty"`
	// Files are the inventory's data files (gzip CSV) and Schema their
	// columns (FormatInventory).
	Files  []objectRef `json:"files,omitempty"`
	Schema []string    `json:"schema,omitempty"`
}

// objectRef names one object version.
type objectRef struct {
	Bucket    string `json:"bucket"`
	Key       string `json:"key"`
	VersionID string `json:"versionId,omitempty"`
}

// Position locates a task in its manifest: the byte offset of its row
// (CSV), or the data file and the number of rows before it in that file
// (inventory, whose gzip files cannot be entered in the middle). Index is
// the task's number, counted from 0 in manifest order.
type Position struct {
	File   int   `json:"f,omitempty"`
	Offset int64 `json:"o,omitempty"`
	Index  int64 `json:"i"`
}

// task is one manifest row.
type task struct {
	Index int64
	Pos   Position
	// Bucket is the bucket name; Key the key as the manifest spells it
	// (URL-encoded); VersionID "" when the row names none.
	Bucket    string
	Key       string
	VersionID string
	// MissingVersion is set when the manifest has a VersionId column
	// that this row leaves empty: the task fails without running.
	MissingVersion bool
}

// manifestError is a problem with the manifest itself, which fails the
// job.
type manifestError struct {
	code   string
	reason string
}

func (e *manifestError) Error() string { return e.code + ": " + e.reason }

func manifestErrorf(code, format string, args ...any) *manifestError {
	return &manifestError{code: code, reason: fmt.Sprintf(format, args...)}
}

// taskReader yields the tasks of a manifest in order.
type taskReader interface {
	// Next returns the next task, io.EOF after the last, or a
	// *manifestError.
	Next() (task, error)
	// Position is where the next task's row starts (after the last row
	// at the end of the manifest).
	Position() Position
	Close() error
}

// openTasks opens src for reading from pos. dir is the job's directory
// (for generated manifests).
func (s *Service) openTasks(ctx context.Context, src *Source, dir string, pos Position) (taskReader, error) {
	switch src.Format {
	case FormatCSV:
		body, err := s.openObject(ctx, objectRef{src.Bucket, src.Key, src.VersionID}, src.ETag, pos.Offset)
		if err != nil {
			return nil, err
		}
		return newCSVReader(body, src.Fields, pos, false), nil
	case formatLocal:
		f, err := os.Open(localManifest(dir))
		if err != nil {
			return nil, err
		}
		if _, err := f.Seek(pos.Offset, io.SeekStart); err != nil {
			f.Close()
			return nil, err
		}
		return newCSVReader(f, []string{fieldBucket, fieldKey, fieldVersionID}, pos, true), nil
	case FormatInventory:
		return &inventoryReader{s: s, ctx: ctx, src: src, pos: pos}, nil
	}
	return nil, fmt.Errorf("batch: unknown manifest source format %q", src.Format)
}

// openObject opens an object version at offset, checking its ETag if etag
// is set.
func (s *Service) openObject(ctx context.Context, ref objectRef, etag string, offset int64) (io.ReadCloser, error) {
	in := &objstore.GetInput{Bucket: ref.Bucket, Key: ref.Key, VersionID: ref.VersionID}
	if offset > 0 {
		in.Range = &objstore.Range{First: offset, Last: -1}
	}
	obj, err := s.objects.GetObject(ctx, in)
	var oe *objstore.Error
	if errors.As(err, &oe) {
		if oe.Code == "InvalidRange" && offset > 0 {
			return io.NopCloser(bytes.NewReader(nil)), nil // at the end already
		}
		return nil, manifestErrorf(failManifestRead, "Reading the manifest failed: %s", oe.Code)
	}
	if err != nil {
		return nil, err
	}
	if etag != "" && unquote(obj.Version.ETag) != unquote(etag) {
		obj.Body.Close()
		return nil, manifestErrorf(failManifestETag, "The ETag of the manifest object (%s) does not match the ETag of the job's manifest location (%s).",
			unquote(obj.Version.ETag), unquote(etag))
	}
	return obj.Body, nil
}

func unquote(etag string) string { return strings.Trim(etag, `"`) }

// csvReader reads a CSV manifest row by row, tracking byte offsets.
type csvReader struct {
	body   io.ReadCloser
	r      *csv.Reader
	fields []string
	// base is the object offset the reader started at.
	base int64
	next int64 // index of the next task
	// optionalVersion lets rows leave VersionId empty (generated
	// manifests: the null version).
	optionalVersion bool
	hasVersion      bool
	bom             bool
}

func newCSVReader(body io.ReadCloser, fields []string, pos Position, optionalVersion bool) *csvReader {
	r := csv.NewReader(bufio.NewReaderSize(body, 64<<10))
	r.FieldsPerRecord = -1
	r.LazyQuotes = true
	r.ReuseRecord = true
	c := &csvReader{body: body, r: r, fields: fields, base: pos.Offset, next: pos.Index, optionalVersion: optionalVersion, bom: pos.Offset == 0}
	for _, f := range fields {
		if f == fieldVersionID {
			c.hasVersion = true
		}
	}
	return c
}

func (c *csvReader) Next() (task, error) {
	start := c.base + c.r.InputOffset()
	rec, err := c.r.Read()
	if err == io.EOF {
		return task{}, io.EOF
	}
	if err != nil {
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			return task{}, manifestErrorf(failManifestFormat, "The manifest is not valid CSV: %v", pe)
		}
		return task{}, err
	}
	if c.r.InputOffset()+c.base-start > maxManifestRowLength {
		return task{}, manifestErrorf(failManifestFormat, "Manifest row %d is longer than %d bytes.", c.next+1, maxManifestRowLength)
	}
	if c.bom && len(rec) > 0 {
		rec[0] = strings.TrimPrefix(rec[0], "\ufeff")
	}
	c.bom = false
	if len(rec) < len(c.fields) {
		return task{}, manifestErrorf(failManifestFormat, "Manifest row %d has %d fields; the manifest's Fields name %d.", c.next+1, len(rec), len(c.fields))
	}
	t := task{Index: c.next, Pos: Position{Offset: start, Index: c.next}}
	for i, f := range c.fields {
		switch f {
		case fieldBucket:
			t.Bucket = rec[i]
		case fieldKey:
			t.Key = rec[i]
		case fieldVersionID:
			t.VersionID = rec[i]
		}
	}
	if t.Bucket == "" || t.Key == "" {
		return task{}, manifestErrorf(failManifestFormat, "Manifest row %d has an empty bucket or key.", c.next+1)
	}
	if c.hasVersion && t.VersionID == "" && !c.optionalVersion {
		t.MissingVersion = true
	}
	c.next++
	return t, nil
}

func (c *csvReader) Position() Position {
	return Position{Offset: c.base + c.r.InputOffset(), Index: c.next}
}

func (c *csvReader) Close() error { return c.body.Close() }

// inventoryManifest is an S3 Inventory manifest.json.
type inventoryManifest struct {
	SourceBucket      string `json:"sourceBucket"`
	DestinationBucket string `json:"destinationBucket"`
	Version           string `json:"version"`
	CreationTimestamp string `json:"creationTimestamp"`
	FileFormat        string `json:"fileFormat"`
	FileSchema        string `json:"fileSchema"`
	Files             []struct {
		Key         string `json:"key"`
		Size        int64  `json:"size"`
		MD5Checksum string `json:"MD5checksum"`
	} `json:"files"`
}

// readInventory reads an inventory manifest.json and returns the source
// that reads its data files.
func (s *Service) readInventory(ctx context.Context, ref objectRef, etag string) (*Source, error) {
	body, err := s.openObject(ctx, ref, etag, 0)
	if err != nil {
		return nil, err
	}
	defer body.Close()
	raw, err := io.ReadAll(io.LimitReader(body, maxManifestJSON+1))
	if err != nil {
		return nil, err
	}
	if len(raw) > maxManifestJSON {
		return nil, manifestErrorf(failManifestFormat, "The inventory manifest.json is larger than %d bytes.", maxManifestJSON)
	}
	var m inventoryManifest
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, manifestErrorf(failManifestFormat, "The inventory manifest.json is not valid JSON: %v", err)
	}
	if m.FileFormat != "" && !strings.EqualFold(m.FileFormat, "CSV") {
		return nil, manifestErrorf(failManifestFormat, "The inventory's fileFormat is %s; only CSV inventories can be a job manifest.", m.FileFormat)
	}
	src := &Source{Format: FormatInventory, Bucket: ref.Bucket, Key: ref.Key, VersionID: ref.VersionID, ETag: etag}
	for f := range strings.SplitSeq(m.FileSchema, ",") {
		src.Schema = append(src.Schema, strings.TrimSpace(f))
	}
	if !contains(src.Schema, fieldBucket) || !contains(src.Schema, fieldKey) {
		return nil, manifestErrorf(failManifestFormat, "The inventory's fileSchema (%s) has no Bucket or Key.", m.FileSchema)
	}
	dest := ref.Bucket
	if m.DestinationBucket != "" {
		b, ok := bucketFromARN(m.DestinationBucket)
		if !ok {
			return nil, manifestErrorf(failManifestFormat, "The inventory's destinationBucket %q is not a bucket ARN.", m.DestinationBucket)
		}
		dest = b
	}
	for _, f := range m.Files {
		src.Files = append(src.Files, objectRef{Bucket: dest, Key: f.Key})
	}
	return src, nil
}

// inventoryReader reads the gzip CSV data files of an inventory in turn.
type inventoryReader struct {
	s   *Service
	ctx context.Context
	src *Source
	pos Position

	body io.ReadCloser
	gz   *gzip.Reader
	r    *csv.Reader
	cols map[string]int
}

func (ir *inventoryReader) open() error {
	ref := ir.src.Files[ir.pos.File]
	body, err := ir.s.openObject(ir.ctx, ref, "", 0)
	if err != nil {
		var me *manifestError
		if errors.As(err, &me) {
			me.reason = fmt.Sprintf("Reading inventory file %s failed: %s", ref.Key, me.reason)
		}
		return err
	}
	gz, err := gzip.NewReader(bufio.NewReaderSize(body, 64<<10))
	if err != nil {
		body.Close()
		return manifestErrorf(failManifestFormat, "Inventory file %s is not gzip: %v", ref.Key, err)
	}
	ir.body, ir.gz = body, gz
	ir.r = csv.NewReader(gz)
	ir.r.FieldsPerRecord = -1
	ir.r.ReuseRecord = true
	ir.r.LazyQuotes = true
	ir.cols = map[string]int{}
	for i, f := range ir.src.Schema {
		ir.cols[f] = i
	}
	// Skip the rows read before the checkpoint.
	for range ir.pos.Offset {
		if _, err := ir.r.Read(); err != nil {
			return manifestErrorf(failManifestFormat, "Inventory file %s ended before row %d.", ref.Key, ir.pos.Offset)
		}
	}
	return nil
}

func (ir *inventoryReader) closeFile() {
	if ir.body != nil {
		ir.gz.Close()
		ir.body.Close()
		ir.body, ir.gz, ir.r = nil, nil, nil
	}
}

func (ir *inventoryReader) Next() (task, error) {
	for {
		if ir.pos.File >= len(ir.src.Files) {
			return task{}, io.EOF
		}
		if ir.r == nil {
			if err := ir.open(); err != nil {
				return task{}, err
			}
		}
		rec, err := ir.r.Read()
		if err == io.EOF {
			ir.closeFile()
			ir.pos.File++
			ir.pos.Offset = 0
			continue
		}
		if err != nil {
			return task{}, manifestErrorf(failManifestFormat, "Inventory file %s is not valid CSV: %v", ir.src.Files[ir.pos.File].Key, err)
		}
		get := func(name string) string {
			if i, ok := ir.cols[name]; ok && i < len(rec) {
				return rec[i]
			}
			return ""
		}
		t := task{Index: ir.pos.Index, Pos: ir.pos, Bucket: get(fieldBucket), Key: get(fieldKey), VersionID: get(fieldVersionID)}
		if t.Bucket == "" || t.Key == "" {
			return task{}, manifestErrorf(failManifestFormat, "Inventory file %s row %d has an empty bucket or key.", ir.src.Files[ir.pos.File].Key, ir.pos.Offset+1)
		}
		ir.pos.Offset++
		ir.pos.Index++
		return t, nil
	}
}

func (ir *inventoryReader) Position() Position { return ir.pos }

func (ir *inventoryReader) Close() error {
	ir.closeFile()
	return nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// bucketFromARN returns the bucket of "arn:aws:s3:::bucket".
func bucketFromARN(arn string) (string, bool) {
	rest, ok := strings.CutPrefix(arn, "arn:")
	if !ok {
		return "", false
	}
	parts := strings.SplitN(rest, ":", 5)
	if len(parts) != 5 || parts[1] != "s3" || parts[4] == "" || strings.Contains(parts[4], "/") {
		return "", false
	}
	return parts[4], true
}

// objectFromARN splits "arn:aws:s3:::bucket/key".
func objectFromARN(arn string) (bucket, key string, ok bool) {
	rest, ok := strings.CutPrefix(arn, "arn:")
	if !ok {
		return "", "", false
	}
	parts := strings.SplitN(rest, ":", 5)
	if len(parts) != 5 || parts[1] != "s3" {
		return "", "", false
	}
	bucket, key, ok = strings.Cut(parts[4], "/")
	if !ok || bucket == "" || key == "" {
		return "", "", false
	}
	return bucket, key, true
}
