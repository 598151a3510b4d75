package main

// The figures of docs/performance.md, in the document's order, and the
// go test runs behind them. This is the one list: scripts/figures runs
// what it names (plan), report prints it, and TestDocAgrees holds the
// document's table to it. A figure without a benchmark has its by-hand
// command in hand.

// A run is one go test invocation of a package's benchmarks.
type run struct {
	id        string
	pkg       string   // as go test takes it: ./internal/gm
	benches   []string // top-level benchmark names, run as -bench '^(A|B)$'
	benchtime string
	quick     string   // -benchtime under -quick
	env       []string // NAME=value, also under -quick unless quickEnv sets it
	quickEnv  []string
	timeout   string // go test -timeout; "" is 30m
	pg        string // the variable set to the PostgreSQL DSN; "" for a run without PostgreSQL
	long      bool   // runs only with -long
}

// An item is one value of a figure: a benchmark's metric (its median
// over -count), or the ratio of two benchmarks' ns/op.
type item struct {
	run   string
	bench string // without the -GOMAXPROCS suffix: BenchmarkAppend/writers=16
	unit  string // as the benchmark reports it; "ops/s" is 1e9 / ns/op
	ratio string // if set, this item is bench's ns/op divided by ratio's (same run)
	// format places the value ("%s"); "" is "%s", with "/s" after a rate.
	format string
	exact  bool    // the whole number, not three significant digits
	min    float64 // the target, if not zero: the value must be ≥ min
	max    float64 // … or ≤ max
}

// A part is a group of items printed together: one backend's values, say.
type part struct {
	label string // printed before the items, "" for none
	items []item
	sep   string // between items; "" is ", "
}

// A figure is one row of the table.
type figure struct {
	what   string
	parts  []part
	hand   string   // the command measuring it by hand, for a figure with no benchmark (markdown if it holds a backtick)
	tests  []string // "./pkg TestName": the tests hand runs, which must exist
	note   string   // said after the benchmarks in the "benchmark or command" cell
	target string   // as the design states it; "—" for none
}

const defaultTimeout = "30m"

var runs = []run{
	{id: "gm", pkg: "./internal/gm", benches: []string{"BenchmarkSign", "BenchmarkVerify", "BenchmarkSM3_1KiB"}, benchtime: "2s", quick: "100ms"},
	{id: "credential", pkg: "./certs/credential", benches: []string{"BenchmarkSignCredential", "BenchmarkVerifyCredential", "BenchmarkBareVerify"}, benchtime: "2s", quick: "100ms"},
	{id: "qr", pkg: "./certs/qr", benches: []string{"BenchmarkDecodeVerify", "BenchmarkTwoVerifies"}, benchtime: "2s", quick: "100ms"},
	{id: "verifier", pkg: "./verifier", benches: []string{"BenchmarkVerifyPresentation", "BenchmarkStatusLookup"}, benchtime: "2s", quick: "100ms"},
	{id: "granthttp", pkg: "./issuer/api", benches: []string{"BenchmarkGrantFetchHTTP"}, benchtime: "10000x", quick: "300x"},
	{id: "granthttp-pg", pkg: "./issuer/api", benches: []string{"BenchmarkGrantFetchHTTP"}, benchtime: "5000x", quick: "300x", pg: "ELICENSE_TEST_STORE"},
	{id: "grant", pkg: "./issuer/service", benches: []string{"BenchmarkGrantFetch"}, benchtime: "10000x", quick: "300x"},
	{id: "grant-pg", pkg: "./issuer/service", benches: []string{"BenchmarkGrantFetch"}, benchtime: "5000x", quick: "300x", pg: "ELICENSE_TEST_STORE"},
	{id: "receipts", pkg: "./issuer/service", benches: []string{"BenchmarkUploadReceipts"}, benchtime: "3x", quick: "1x"},
	{id: "receipts-pg", pkg: "./issuer/service", benches: []string{"BenchmarkUploadReceipts"}, benchtime: "3x", quick: "1x", pg: "ELICENSE_TEST_STORE"},
	{id: "genuine", pkg: "./certs/trust", benches: []string{"BenchmarkGenuineSetMillion"}, benchtime: "1x", quick: "1x"},
	{id: "scan", pkg: "./verifier/scan", benches: []string{"BenchmarkDecode720p"}, benchtime: "1s", quick: "100ms"},
	{id: "seal", pkg: "./verifier/seal", benches: []string{"BenchmarkVerifySignature"}, benchtime: "1s", quick: "100ms"},
	{id: "issue", pkg: "./issuer/service", benches: []string{"BenchmarkIssue"}, benchtime: "20000x", quick: "500x"},
	{id: "issue-400k", pkg: "./issuer/service", benches: []string{"BenchmarkIssue"}, benchtime: "400000x", quick: "1000x"},
	{id: "issuehttp", pkg: "./issuer/api", benches: []string{"BenchmarkIssueHTTP"}, benchtime: "20000x", quick: "500x"},
	{id: "ledger", pkg: "./internal/ledger", benches: []string{"BenchmarkAppend", "BenchmarkInclusionProof", "BenchmarkVerifyInclusion", "BenchmarkFsck"}, benchtime: "3s", quick: "100ms"},
	{id: "boltstate", pkg: "./issuer/state/boltstate", benches: []string{"BenchmarkSearchAgency", "BenchmarkSearchHolder"}, benchtime: "1s", quick: "100ms"},
	{id: "countersync", pkg: "./cmd/elicense", benches: []string{"BenchmarkCounterSyncDay"}, benchtime: "1x", quick: "1x", quickEnv: []string{"ELICENSE_FIGURE_LICENCES=20000"}, timeout: "60m"},
	{id: "archive", pkg: "./cmd/elicense", benches: []string{"BenchmarkArchive"}, benchtime: "1x", quick: "1x", env: []string{"ELICENSE_ARCHIVE_N=100000"}, quickEnv: []string{"ELICENSE_ARCHIVE_N=200"}, timeout: "90m", long: true},
	{id: "mobile", pkg: "./mobile-sdk", benches: []string{"BenchmarkPresent", "BenchmarkQRPNG"}, benchtime: "1s", quick: "100ms"},
	{id: "replicas-pg", pkg: "./cmd/elicense", benches: []string{"BenchmarkReplicasPG"}, benchtime: "10000x", quick: "500x", pg: "ELICENSE_TEST_PG"},
	{id: "state-pg", pkg: "./issuer/state/pgstate", benches: []string{"BenchmarkState"}, benchtime: "2s", quick: "100ms", pg: "ELICENSE_TEST_PG"},
}

// Items used by several figures.
var (
	issueItems = func(id string) []item {
		return []item{
			{run: id, bench: "BenchmarkIssue", unit: "issuances/s", min: 10000},
			{run: id, bench: "BenchmarkIssue", unit: "cpu-µs/op", format: "%s µs CPU"},
			{run: id, bench: "BenchmarkIssue", unit: "pages/op", format: "%s pages/op"},
		}
	}
	httpItems = func(id, bench, rate string, minRate, maxP99 float64, cpuFormat string) []item {
		return []item{
			{run: id, bench: bench, unit: rate, min: minRate},
			{run: id, bench: bench, unit: "p50-ms", format: "p50 %s ms"},
			{run: id, bench: bench, unit: "p99-ms", format: "p99 %s ms", max: maxP99},
			{run: id, bench: bench, unit: "cpu-µs/op", format: cpuFormat},
		}
	}
	receiptItems = func(id string) []item {
		return []item{
			{run: id, bench: "BenchmarkUploadReceipts", unit: "ms/batch", format: "%s ms"},
			{run: id, bench: "BenchmarkUploadReceipts", unit: "ms/duplicate-batch", format: "%s ms"},
		}
	}
	replicaItems = func(n string, minRate, maxP99 float64) []item {
		b := "BenchmarkReplicasPG/replicas=" + n
		return []item{
			{run: "replicas-pg", bench: b, unit: "issuances/s", min: minRate},
			{run: "replicas-pg", bench: b, unit: "p50-ms", format: "p50 %s ms"},
			{run: "replicas-pg", bench: b, unit: "p99-ms", format: "p99 %s ms", max: maxP99},
			{run: "replicas-pg", bench: b, unit: "replica-cpu-µs/op", format: "server %s µs CPU"},
			{run: "replicas-pg", bench: b, unit: "pg-cpu-µs/op", format: "PostgreSQL %s µs CPU"},
			{run: "replicas-pg", bench: b, unit: "commits/op", format: "%s transactions a licence"},
		}
	}
)

var figures = []figure{
	{what: "SM2 sign / verify, 256 B", target: "—", parts: []part{{sep: " / ", items: []item{
		{run: "gm", bench: "BenchmarkSign", unit: "ns/op"},
		{run: "gm", bench: "BenchmarkVerify", unit: "ns/op"},
	}}}},
	{what: "SM3, 1 KiB", target: "—", parts: []part{{sep: " ", items: []item{
		{run: "gm", bench: "BenchmarkSM3_1KiB", unit: "ns/op"},
		{run: "gm", bench: "BenchmarkSM3_1KiB", unit: "MB/s", format: "(%s MB/s)"},
	}}}},
	{what: "credential sign / verify; verify against a bare SM2 verify of the same input", target: "verify ≤ 1.3 × the bare verify", parts: []part{
		{sep: " / ", items: []item{
			{run: "credential", bench: "BenchmarkSignCredential", unit: "ns/op"},
			{run: "credential", bench: "BenchmarkVerifyCredential", unit: "ns/op"},
		}},
		{items: []item{{run: "credential", bench: "BenchmarkVerifyCredential", ratio: "BenchmarkBareVerify", format: "%s ×", max: 1.3}}},
	}},
	{what: "QR presentation decode + verify (serial) against two bare SM2 verifies", target: "≤ 1.3 × two bare verifies", parts: []part{
		{sep: " vs ", items: []item{
			{run: "qr", bench: "BenchmarkDecodeVerify", unit: "ns/op"},
			{run: "qr", bench: "BenchmarkTwoVerifies", unit: "ns/op"},
		}},
		{items: []item{{run: "qr", bench: "BenchmarkDecodeVerify", ratio: "BenchmarkTwoVerifies", format: "%s ×", max: 1.3}}},
	}},
	{what: "counter verification of a holder-bound presentation, status and replay included (parallel)", target: "≥ 8,000/s", parts: []part{{sep: " ≈ ", items: []item{
		{run: "verifier", bench: "BenchmarkVerifyPresentation", unit: "ns/op", format: "%s/op"},
		{run: "verifier", bench: "BenchmarkVerifyPresentation", unit: "ops/s", min: 8000},
	}}}},
	{what: "counter verification with the store shared across processes (file lock, shared replay memory and log: two fsyncs a check), one vs two processes", target: "—",
		hand: "ELICENSE_SHARED_BENCH=1000 go test -run SharedThroughput -v ./verifier/store", tests: []string{"./verifier/store TestSharedThroughput"}},
	{what: "授权用证 grant fetches, each a fresh ELProof verified, the grant and party checked, a durable `grant-use` ledger event, the SD-JWT answered: through HTTP with 64 clients (client CPU included), and through the library with 64 callers", target: "—", parts: []part{
		{label: "HTTP, bbolt:", items: httpItems("granthttp", "BenchmarkGrantFetchHTTP", "fetches/s", 0, 0, "%s µs CPU a fetch")},
		{label: "HTTP, PostgreSQL:", items: httpItems("granthttp-pg", "BenchmarkGrantFetchHTTP", "fetches/s", 0, 0, "%s µs CPU a fetch")},
		{label: "library, bbolt:", items: []item{{run: "grant", bench: "BenchmarkGrantFetch", unit: "ns/op", format: "%s a fetch"}}},
		{label: "library, PostgreSQL:", items: []item{{run: "grant-pg", bench: "BenchmarkGrantFetch", unit: "ns/op", format: "%s a fetch"}}},
	}},
	{what: "counter receipts (docs/consent.md §9), a day of a busy counter: 2,000 checks, half presentations of a bound licence, half static QRs", target: "—",
		hand: "go test -run TestReceiptDay -v ./verifier/store", tests: []string{"./verifier/store TestReceiptDay"}},
	{what: "the issuer taking a full batch of 1,000 counter receipts (decrypt each, one ledger append for the batch) / the same batch again, all duplicates (the batch append refused, then one at a time)", target: "—", parts: []part{
		{label: "bbolt", sep: " / ", items: receiptItems("receipts")},
		{label: "PostgreSQL", sep: " / ", items: receiptItems("receipts-pg")},
	}},
	{what: "a compromised key's genuine set, 1,000,000 licences: size / build, parse and check", target: "—", parts: []part{{sep: " / ", items: []item{
		{run: "genuine", bench: "BenchmarkGenuineSetMillion", unit: "doc-bytes", format: "%s bytes", exact: true},
		{run: "genuine", bench: "BenchmarkGenuineSetMillion", unit: "ns/op"},
	}}}},
	{what: "counter cold start to verdict, 10 M-entry status list held", target: "≤ 200 ms; ≤ 60 MB", hand: "/usr/bin/time elicense-verify check …"},
	{what: "QR decode from a 720p camera frame", target: "—", parts: []part{{items: []item{{run: "scan", bench: "BenchmarkDecode720p", unit: "ns/op"}}}}},
	{what: "status lookup in a 10 M-entry list", target: "—", parts: []part{{items: []item{{run: "verifier", bench: "BenchmarkStatusLookup", unit: "ns/op"}}}}},
	{what: "seal verification", target: "—", parts: []part{{items: []item{{run: "seal", bench: "BenchmarkVerifySignature", unit: "ns/op"}}}}},
	{what: "durable issuance through the library, 64 callers", target: "≥ 10,000/s", parts: []part{{items: issueItems("issue")}}},
	{what: "the same over 400,000 issuances, holder-index merges included", target: "≥ 10,000/s", parts: []part{{items: issueItems("issue-400k")}}},
	{what: "durable issuance over HTTP, 64 clients on loopback, client on the same cores", target: "≥ 5,000/s, p99 ≤ 50 ms", parts: []part{{items: httpItems("issuehttp", "BenchmarkIssueHTTP", "issuances/s", 5000, 50, "%s µs CPU a request")}}},
	{what: "durable issuance against the real `elicense serve`, 64 clients", target: "≥ 5,000/s, p99 ≤ 50 ms", hand: "elicense bench --body licence.json --duration 5s"},
	{what: "ledger durable appends, 1 / 16 / 256 writers", target: "≥ 10,000/s at 256", parts: []part{{sep: " / ", items: []item{
		{run: "ledger", bench: "BenchmarkAppend/writers=1", unit: "appends/s", format: "%s"},
		{run: "ledger", bench: "BenchmarkAppend/writers=16", unit: "appends/s", format: "%s"},
		{run: "ledger", bench: "BenchmarkAppend/writers=256", unit: "appends/s", min: 10000},
	}}}},
	{what: "inclusion proof at 1 M entries: make / verify", target: "—", parts: []part{{sep: " / ", items: []item{
		{run: "ledger", bench: "BenchmarkInclusionProof", unit: "ns/op"},
		{run: "ledger", bench: "BenchmarkVerifyInclusion", unit: "ns/op"},
	}}}},
	{what: "ledger fsck (hashes, checkpoint signatures), per 100 k entries", note: "the check `elicense ledger verify` runs", target: "≤ 60 s per 1 M", parts: []part{{items: []item{
		{run: "ledger", bench: "BenchmarkFsck", unit: "ns/op", max: 6e9},
	}}}},
	{what: "status list, 10 M entries, 0.5 % revoked; a day's delta (2,000 changes)", target: "≤ 100 KB; ≤ 5 KB (the test fails above them)",
		hand: "go test -run TestSizeBudget -v ./certs/statuslist", tests: []string{"./certs/statuslist TestSizeBudget"}},
	{what: "the default presentation of each class (holder-bound, nothing optional disclosed) in a QR code", target: "version ≤ 15-M (the test fails above it)",
		hand: "go test -run TestDefaultPresentationFitsQRVersion15 -v ./certs/qr", tests: []string{"./certs/qr TestDefaultPresentationFitsQRVersion15"}},
	{what: "an operator's listing, a page of 100 among 20,000", target: "—", parts: []part{{items: []item{{run: "boltstate", bench: "BenchmarkSearchAgency", unit: "ns/op"}}}}},
	{what: "holder search with 32,768 entries awaiting merge", target: "—", parts: []part{{items: []item{{run: "boltstate", bench: "BenchmarkSearchHolder/log=32768", unit: "ns/op"}}}}},
	{what: "the API fuzzer: requests from `/v1/openapi.json` as every role, no 5xx, panic or unauthorised change; 5,000 (CI) and 200,000 requests", target: "—",
		hand: "go test ./issuer/api -run TestAPIFuzz -apifuzz.requests=200000 -timeout 2h", tests: []string{"./issuer/api TestAPIFuzz"}},
	{what: "holders' claims during a flood of claim challenges from 10,000 spoofed `X-Forwarded-For` addresses (server trusting 127.0.0.1 as its proxy, so each counts; 4 holders, 8 flooding connections, all on loopback on the same cores), and the server's RSS", target: "claims during the flood ≥ a tenth of the rate alone; RSS growth ≤ 48 MiB",
		hand: "go test -count=1 -run TestClaimFlood -v ./cmd/elicense", tests: []string{"./cmd/elicense TestClaimFlood"}},
	{what: "fail-over: SIGKILL of the checkpoint-signing replica (two `elicense serve` on one PostgreSQL schema, 16 clients) to the next signed checkpoint, served by the survivor", target: "within seconds",
		hand: "go test ./cmd/elicense -run 'TestReplicasKill$' -count=5 -v", tests: []string{"./cmd/elicense TestReplicasKill"}},
	{what: "database fail-over: SIGKILL of the primary's postmaster, synchronous standby promoted 2 s later, two replicas on a multi-host DSN (docs/deployment.md); restart: 3 s away", target: "replicas recover by themselves within seconds; no ack lost",
		hand: "go test ./cmd/elicense -run 'TestDatabase(Restart|Failover)$' -count=3 -v", tests: []string{"./cmd/elicense TestDatabaseRestart", "./cmd/elicense TestDatabaseFailover"}},
	{what: "issuer start to healthy", target: "—", hand: "`elicense serve`, then `/healthz` timed with curl"},
	{what: "counter sync from static files, 1,000,000 licences (one ledger entry each, 300 bytes; one status list of 2^20 with 3 % revoked or superseded; built directly, not issued), net/http FileServer on loopback: after a day of 2,000 status changes (each with its ledger entry) published hourly (the first sync and the publications: the benchmark's log)", target: "—", parts: []part{{sep: " in ", items: []item{
		{run: "countersync", bench: "BenchmarkCounterSyncDay", unit: "day-sync-bytes", format: "%s bytes", exact: true},
		{run: "countersync", bench: "BenchmarkCounterSyncDay", unit: "day-sync-ms", format: "%s ms"},
	}}}},
	{what: "archive package (电子档案, docs/formats.md §6) of 100,000 licences of one agency (bbolt; issued for the benchmark, 3 of them then suspended, revoked, re-issued): export / verification, both using every core; their CPU time a licence (what an idle machine's cores would give, load aside); bytes a licence in the package", target: "—", parts: []part{{sep: " / ", items: []item{
		{run: "archive", bench: "BenchmarkArchive", unit: "export-licences/s", format: "%s licences/s"},
		{run: "archive", bench: "BenchmarkArchive", unit: "verify-licences/s", format: "%s licences/s"},
		{run: "archive", bench: "BenchmarkArchive", unit: "export-cpu-µs/licence", format: "%s CPU-µs export"},
		{run: "archive", bench: "BenchmarkArchive", unit: "verify-cpu-µs/licence", format: "%s CPU-µs verification"},
		{run: "archive", bench: "BenchmarkArchive", unit: "bytes/licence", format: "%s bytes a licence"},
	}}}},
	{what: "data file size", target: "—", hand: "`ls -l DATA/ledger.db` after `elicense bench`, divided by the licences issued"},
	{what: "wallet: one presentation / its PNG at 4 px a module", target: "—", parts: []part{{sep: " / ", items: []item{
		{run: "mobile", bench: "BenchmarkPresent", unit: "ns/op"},
		{run: "mobile", bench: "BenchmarkQRPNG", unit: "ns/op"},
	}}}},
	{what: "web wallet WebAssembly, size and gzipped", target: "—", hand: "go generate ./issuer/wallet && ls -l issuer/wallet/assets/wallet.wasm && gzip -9c issuer/wallet/assets/wallet.wasm | wc -c"},
	{what: "durable issuances through real `elicense serve` processes on one PostgreSQL schema, 64 clients: one replica", target: "≥ 3,000/s, p99 ≤ 100 ms", parts: []part{{items: replicaItems("1", 3000, 100)}}},
	{what: "the same, two replicas (32 clients each)", target: "—", parts: []part{{items: replicaItems("2", 0, 0)}}},
	{what: "a shared ledger's `State` (what replicas take in every half checkpoint interval, and on a proof request beyond the size they know): a durable read, whose statement updates `durable_mark` so that its commit waits for the synchronous standby", target: "—",
		parts: []part{{items: []item{{run: "state-pg", bench: "BenchmarkState", unit: "ns/op"}}}}},
}
