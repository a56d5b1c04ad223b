// tlogcheck audits a C2SP tlog-tiles log with Go's golang.org/x/mod/sumdb/tlog and
// sumdb/note, a client Lotledger did not write. It reads BASE/checkpoint, opens it with a
// note verifier built from the log's verifier key, reads hash tiles through
// tlog.TileHashReader (which checks every tile against the signed root), proves the
// inclusion of each entry asked for and the consistency of an older tree with the latest,
// and, with -entries, checks that each entry of the bundles hashes to its record.
//
// BASE is an http:// URL (a running `lotledger serve`) or a directory (`lotledger tiles
// sync`): the same paths either way. Exit status 0 and a last line "OK ..." on success.
package main

import (
	"encoding/base64"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// source reads a path under the log's prefix, over HTTP or from a directory.
type source struct {
	base   string
	apiKey string
}

func (s source) read(path string) ([]byte, error) {
	if !strings.HasPrefix(s.base, "http://") && !strings.HasPrefix(s.base, "https://") {
		return os.ReadFile(filepath.Join(s.base, filepath.FromSlash(path)))
	}
	req, err := http.NewRequest("GET", strings.TrimRight(s.base, "/")+"/"+path, nil)
	if err != nil {
		return nil, err
	}
	if s.apiKey != "" {
		req.Header.Set("Authorization", "Bearer "+s.apiKey)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != 200 {
		return nil, fmt.Errorf("GET %s: %s", path, resp.Status)
	}
	return body, nil
}

// c2spPath is a tile's C2SP tlog-tiles path: Go's sumdb path "tile/8/L/N[.p/W]" without
// the height element (C2SP fixes it at 8).
func c2spPath(t tlog.Tile) string {
	return strings.Replace(t.Path(), "tile/8/", "tile/", 1)
}

// tiles is a tlog.TileReader over a source.
type tiles struct {
	src     source
	fetched int
	cache   map[string][]byte // tiles are immutable: each path is read once
}

func (r *tiles) Height() int { return 8 }

func (r *tiles) ReadTiles(ts []tlog.Tile) ([][]byte, error) {
	out := make([][]byte, len(ts))
	for i, t := range ts {
		path := c2spPath(t)
		data, ok := r.cache[path]
		if !ok {
			var err error
			if data, err = r.src.read(path); err != nil {
				return nil, err
			}
			r.fetched++
			r.cache[path] = data
		}
		out[i] = data
	}
	return out, nil
}

func (r *tiles) SaveTiles([]tlog.Tile, [][]byte) {}

// parseCheckpoint reads a C2SP checkpoint body: origin, size, base64 root (extension
// lines may follow).
func parseCheckpoint(text, origin string) (tlog.Tree, error) {
	lines := strings.Split(text, "\n")
	if len(lines) < 4 || lines[0] != origin {
		return tlog.Tree{}, fmt.Errorf("not a checkpoint of %q: %q", origin, text)
	}
	n, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil || n < 0 {
		return tlog.Tree{}, fmt.Errorf("bad tree size %q", lines[1])
	}
	raw, err := base64.StdEncoding.DecodeString(lines[2])
	if err != nil || len(raw) != tlog.HashSize {
		return tlog.Tree{}, fmt.Errorf("bad root hash %q", lines[2])
	}
	var h tlog.Hash
	copy(h[:], raw)
	return tlog.Tree{N: n, Hash: h}, nil
}

func run() error {
	base := flag.String("base", "", "http://host:port or a directory")
	vkey := flag.String("vkey", "", "the log's verifier key (name+keyid+base64)")
	apiKey := flag.String("api-key", "", "a key for the entry bundles (HTTP only)")
	oldSize := flag.Int64("old-size", 0, "an older tree size to prove consistency from")
	oldRoot := flag.String("old-root", "", "its root hash, hex")
	entries := flag.Bool("entries", false, "also read the entry bundles and check every entry")
	flag.Parse()

	verifier, err := note.NewVerifier(*vkey)
	if err != nil {
		return fmt.Errorf("verifier key: %w", err)
	}
	src := source{base: *base, apiKey: *apiKey}
	msg, err := src.read("checkpoint")
	if err != nil {
		return err
	}
	n, err := note.Open(msg, note.VerifierList(verifier))
	if err != nil {
		return fmt.Errorf("checkpoint signature: %w", err)
	}
	tree, err := parseCheckpoint(n.Text, verifier.Name())
	if err != nil {
		return err
	}
	reader := &tiles{src: src, cache: map[string][]byte{}}
	hashes := tlog.TileHashReader(tree, reader)

	// The root from the tiles must be the signed one (TileHashReader checks each tile
	// against it as it reads).
	root, err := tlog.TreeHash(tree.N, hashes)
	if err != nil {
		return fmt.Errorf("tree hash: %w", err)
	}
	if root != tree.Hash {
		return errors.New("the tiles do not hash to the signed root")
	}

	// Inclusion of every entry's record hash, from the level-0 tiles.
	var leaves []tlog.Hash
	for i := int64(0); i < tree.N; i++ {
		got, err := hashes.ReadHashes([]int64{tlog.StoredHashIndex(0, i)})
		if err != nil {
			return fmt.Errorf("leaf %d: %w", i, err)
		}
		leaves = append(leaves, got[0])
		proof, err := tlog.ProveRecord(tree.N, i, hashes)
		if err != nil {
			return fmt.Errorf("prove record %d: %w", i, err)
		}
		if err := tlog.CheckRecord(proof, tree.N, tree.Hash, i, got[0]); err != nil {
			return fmt.Errorf("check record %d: %w", i, err)
		}
	}

	if *oldRoot != "" {
		var old tlog.Hash
		raw, err := hexDecode(*oldRoot)
		if err != nil {
			return err
		}
		copy(old[:], raw)
		proof, err := tlog.ProveTree(tree.N, *oldSize, hashes)
		if err != nil {
			return fmt.Errorf("prove tree: %w", err)
		}
		if err := tlog.CheckTree(proof, tree.N, tree.Hash, *oldSize, old); err != nil {
			return fmt.Errorf("consistency with size %d: %w", *oldSize, err)
		}
	}

	checked := 0
	if *entries {
		for start := int64(0); start < tree.N; start += 256 {
			width := tree.N - start
			if width > 256 {
				width = 256
			}
			// The bundle's path is the level-0 tile's, with "entries" for the level.
			tile := tlog.Tile{H: 8, L: 0, N: start / 256, W: int(width)}
			path := "tile/entries/" + strings.TrimPrefix(tile.Path(), "tile/8/0/")
			bundle, err := src.read(path)
			if err != nil {
				return err
			}
			for i := int64(0); i < width; i++ {
				if len(bundle) < 2 {
					return fmt.Errorf("%s: cut short at entry %d", path, i)
				}
				size := int(binary.BigEndian.Uint16(bundle))
				if len(bundle) < 2+size {
					return fmt.Errorf("%s: entry %d cut short", path, i)
				}
				if tlog.RecordHash(bundle[2:2+size]) != leaves[start+i] {
					return fmt.Errorf("entry %d does not hash to its record in the tree", start+i)
				}
				bundle = bundle[2+size:]
				checked++
			}
			if len(bundle) != 0 {
				return fmt.Errorf("%s: %d bytes after the last entry", path, len(bundle))
			}
		}
	}
	fmt.Printf("OK %s size %d root %x: %d inclusion proofs, consistency from %d, %d entries, %d tiles read\n",
		verifier.Name(), tree.N, tree.Hash[:], tree.N, *oldSize, checked, reader.fetched)
	return nil
}

func hexDecode(s string) ([]byte, error) {
	if len(s) != 64 {
		return nil, fmt.Errorf("bad hex hash %q", s)
	}
	out := make([]byte, 32)
	for i := 0; i < 32; i++ {
		v, err := strconv.ParseUint(s[2*i:2*i+2], 16, 8)
		if err != nil {
			return nil, fmt.Errorf("bad hex hash %q", s)
		}
		out[i] = byte(v)
	}
	return out, nil
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "FAILED:", err)
		os.Exit(1)
	}
}
