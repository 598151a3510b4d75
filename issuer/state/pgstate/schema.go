package pgstate

import (
	"strconv"
	"strings"

	"elicense/issuer/state"
)

// migrations[v] takes a schema from version v to v+1; {s} is the
// quoted schema name. Each runs inside Open's one transaction.
//
// Times are Unix nanoseconds (bigint, NULL for the zero time): exact,
// as the bbolt backend keeps them, and cheap to write.
var migrations = [][]string{
	0: {
		`CREATE SCHEMA IF NOT EXISTS {s}`,
		`CREATE TABLE {s}.schema_version (version integer NOT NULL)`,
		`INSERT INTO {s}.schema_version VALUES (0)`,

		// The ledger. ledger_head's one row is the sequencer: every
		// writer locks it first (doc.go).
		`CREATE TABLE {s}.ledger_head (
			one boolean PRIMARY KEY DEFAULT true CHECK (one),
			size bigint NOT NULL DEFAULT 0,
			origin text COLLATE "C" NOT NULL DEFAULT '',
			entry_format text COLLATE "C" NOT NULL DEFAULT '',
			intent_size bigint,
			intent_root bytea,
			watermark bigint NOT NULL DEFAULT 0)`,
		`INSERT INTO {s}.ledger_head DEFAULT VALUES`,
		`CREATE TABLE {s}.entries (idx bigint PRIMARY KEY, data bytea NOT NULL)`,
		`CREATE TABLE {s}.hashes (idx bigint PRIMARY KEY, hash bytea NOT NULL)`,
		`CREATE TABLE {s}.checkpoints (size bigint PRIMARY KEY, note bytea NOT NULL)`,

		// Licences and device copies. The credential is kept apart
		// (credentials): it never changes and is most of the bytes, and
		// an UPDATE writes a whole new row version.
		`CREATE TABLE {s}.licences (
			id text COLLATE "C" PRIMARY KEY,
			class text COLLATE "C" NOT NULL,
			agency text COLLATE "C" NOT NULL,
			holder_code text COLLATE "C" NOT NULL,
			holder_name text COLLATE "C" NOT NULL,
			fields bytea NOT NULL,
			status text COLLATE "C" NOT NULL,
			reason text COLLATE "C" NOT NULL,
			status_list text COLLATE "C" NOT NULL,
			status_index bigint NOT NULL,
			credential_hash text COLLATE "C" NOT NULL,
			issued_at bigint,
			updated_at bigint,
			ledger_index bigint NOT NULL,
			last_event bigint NOT NULL,
			superseded_by text COLLATE "C" NOT NULL,
			supersedes text COLLATE "C" NOT NULL,
			import_key text COLLATE "C" NOT NULL,
			issued_on text COLLATE "C" NOT NULL,
			number text COLLATE "C" NOT NULL,
			copy_of text COLLATE "C" NOT NULL,
			device text COLLATE "C" NOT NULL,
			copies text[] COLLATE "C" NOT NULL,
			unbound boolean NOT NULL,
			UNIQUE (status_list, status_index))`,
		`CREATE UNIQUE INDEX licences_import_key ON {s}.licences (agency, import_key) WHERE import_key <> ''`,
		`CREATE INDEX licences_holder ON {s}.licences (holder_code, id) WHERE copy_of = ''`,
		`CREATE INDEX licences_agency ON {s}.licences (agency, class, id) WHERE copy_of = ''`,
		`CREATE INDEX licences_class ON {s}.licences (class, id) WHERE copy_of = ''`,
		`CREATE INDEX licences_last_event ON {s}.licences (last_event)`,
		// A credential and QR core (2 to 3 KB) stay in the row, uncompressed:
		// PostgreSQL would otherwise try to compress every one past 2 KB and
		// move it to a TOAST table, a second row and index entry to write.
		`CREATE TABLE {s}.credentials (ledger_index bigint PRIMARY KEY, credential text COLLATE "C" NOT NULL, qr bytea) WITH (toast_tuple_target = 8160)`,

		`CREATE SEQUENCE {s}.claim_ticket_seq MINVALUE 1 MAXVALUE ` + strconv.FormatUint(state.MaxClaimTicket, 10) + ` NO CYCLE`,
		`CREATE TABLE {s}.claim_tickets (
			ticket bigint PRIMARY KEY,
			licence_id text COLLATE "C" NOT NULL,
			expires bigint,
			used boolean NOT NULL DEFAULT false,
			salt bytea,
			verifier bytea,
			ledger_index bigint)`,
		`CREATE TABLE {s}.seals (
			esid text COLLATE "C" PRIMARY KEY,
			agency text COLLATE "C" NOT NULL DEFAULT '',
			holder_code text COLLATE "C" NOT NULL DEFAULT '',
			made_at bigint,
			ledger_index bigint NOT NULL DEFAULT 0,
			revoked_at bigint,
			reason text COLLATE "C" NOT NULL DEFAULT '')`,
		`CREATE TABLE {s}.agency_seals (code text COLLATE "C" PRIMARY KEY, der bytea NOT NULL)`,
		`CREATE TABLE {s}.revoked_tokens (jti text COLLATE "C" PRIMARY KEY, expires bigint NOT NULL)`,
		`CREATE TABLE {s}.audit (idx bigint PRIMARY KEY, doc bytea NOT NULL)`,
		`CREATE TABLE {s}.status_snapshot (one boolean PRIMARY KEY DEFAULT true CHECK (one), size bigint NOT NULL, data bytea NOT NULL)`,
		// The serial counter only grows; ReserveSerials hands out its
		// values modulo serialRange.
		`CREATE TABLE {s}.serial_counter (one boolean PRIMARY KEY DEFAULT true CHECK (one), next bigint NOT NULL)`,
		`INSERT INTO {s}.serial_counter VALUES (true, 0)`,

		// reject refuses the change made with the ledger entry idx: a
		// statement that finds a key taken or a record missing raises it,
		// which aborts the transaction; the store reads idx back from the
		// error's DETAIL.
		`CREATE FUNCTION {s}.reject(idx bigint, code text, what text) RETURNS void LANGUAGE plpgsql AS $$
		BEGIN
			RAISE EXCEPTION USING ERRCODE = code, MESSAGE = what, DETAIL = idx::text;
		END $$`,
	},
	1: {
		// Agency keys a rotation retired, from the ledger index of its
		// event: a licence they sign is refused after it (state.Tx.RetireKey).
		`CREATE TABLE {s}.retired_keys (kid text COLLATE "C" PRIMARY KEY, idx bigint NOT NULL)`,
	},
	2: {
		// 授权用证 (consent.go): relying parties, requests, grants, the
		// ledger events about each copy, counter receipts taken.
		`CREATE TABLE {s}.relying_parties (
			id text COLLATE "C" PRIMARY KEY,
			state text COLLATE "C" NOT NULL,
			ledger_index bigint NOT NULL,
			doc bytea NOT NULL)`,
		`CREATE TABLE {s}.requests (
			id text COLLATE "C" PRIMARY KEY,
			expires bigint NOT NULL,
			answer text COLLATE "C" NOT NULL DEFAULT '',
			answered_at bigint,
			grant_id text COLLATE "C" NOT NULL DEFAULT '',
			doc bytea NOT NULL)`,
		`CREATE INDEX requests_expires ON {s}.requests (expires)`,
		// A fetch changes only fetches: room on the page lets the new row
		// version stay there (a HOT update, no index entry written).
		`CREATE TABLE {s}.grants (
			id text COLLATE "C" PRIMARY KEY,
			rp text COLLATE "C" NOT NULL,
			copy text COLLATE "C" NOT NULL,
			once boolean NOT NULL,
			ledger_index bigint NOT NULL,
			fetches bigint NOT NULL DEFAULT 0,
			revoked_at bigint,
			revoked_by smallint NOT NULL DEFAULT 0,
			doc bytea NOT NULL) WITH (fillfactor = 80)`,
		`CREATE INDEX grants_copy ON {s}.grants (copy, ledger_index)`,
		`CREATE INDEX grants_rp ON {s}.grants (rp, ledger_index)`,
		`CREATE TABLE {s}.uses (copy text COLLATE "C", idx bigint, PRIMARY KEY (copy, idx))`,
		`CREATE TABLE {s}.receipts (id text COLLATE "C" PRIMARY KEY, idx bigint NOT NULL)`,
	},
	3: {
		// What a fetch re-checks in its statement (consent.go useGrant):
		// the party's last suspension and the grant's creation, Unix ns
		// (NULL: never suspended), taken from doc for the rows there
		// (to the microsecond, as PostgreSQL's timestamps hold it).
		`ALTER TABLE {s}.relying_parties ADD COLUMN void_before bigint`,
		`ALTER TABLE {s}.grants ADD COLUMN created bigint NOT NULL DEFAULT 0`,
		`UPDATE {s}.relying_parties SET void_before = ` + docNanos("void_before") + ` WHERE convert_from(doc, 'UTF8')::jsonb ? 'void_before'`,
		`UPDATE {s}.grants SET created = ` + docNanos("created") + ` WHERE convert_from(doc, 'UTF8')::jsonb ? 'created'`,
	},
	4: {
		// A row the ledger's durable read (ledger.go, ledgerStore.State)
		// updates, so that its statement writes WAL and its commit
		// waits for the synchronous standby like a write's.
		`CREATE TABLE {s}.durable_mark (one boolean PRIMARY KEY DEFAULT true CHECK (one), n bigint NOT NULL DEFAULT 0)`,
		`INSERT INTO {s}.durable_mark DEFAULT VALUES`,
	},
}

// docNanos is the SQL of the Unix nanoseconds of the RFC 3339 time in
// member m of a row's JSON doc.
func docNanos(m string) string {
	return `(extract(epoch FROM (convert_from(doc, 'UTF8')::jsonb ->> '` + m + `')::timestamptz) * 1000000)::bigint * 1000`
}

// queries holds the statements with the schema's name filled in.
type queries struct {
	schema string

	head, lockHead, updateHead   string
	insEntries, insHashes, insCP string
	insLicences, insCreds        string
	checkKeys, retireKey         string
	insClaims, addCopy, apply    string
	applyReplay                  string
	putSeal, revokeSeal, putAudt string
	getRecord                    string
	c                            consentQueries
}

func (q queries) expand(sql string) string {
	return strings.ReplaceAll(sql, "{s}", `"`+q.schema+`"`)
}

// recordCols are the licences columns in the order scanRecord reads.
const recordCols = `l.id, l.class, l.agency, l.holder_code, l.holder_name, l.fields, l.status, l.reason,
	l.status_list, l.status_index, l.credential_hash, l.issued_at, l.updated_at, l.ledger_index,
	l.last_event, l.superseded_by, l.supersedes, l.import_key, l.issued_on, l.number, l.copy_of,
	l.device, l.copies, l.unbound`

func newQueries(schema string) queries {
	q := queries{schema: schema}
	e := q.expand
	q.head = e(`SELECT size, origin, entry_format, intent_size, intent_root FROM {s}.ledger_head`)
	q.lockHead = q.head + ` FOR UPDATE`
	q.updateHead = e(`UPDATE {s}.ledger_head SET size = $1, origin = $2, entry_format = $3,
		intent_size = coalesce($4, intent_size), intent_root = coalesce($5, intent_root),
		watermark = greatest(watermark, $6)`)
	q.insEntries = e(`INSERT INTO {s}.entries (idx, data) SELECT $1::bigint + o - 1, d FROM unnest($2::bytea[]) WITH ORDINALITY AS u(d, o)`)
	q.insHashes = e(`INSERT INTO {s}.hashes (idx, hash) SELECT $1::bigint + o - 1, h FROM unnest($2::bytea[]) WITH ORDINALITY AS u(h, o)`)
	q.insCP = e(`INSERT INTO {s}.checkpoints (size, note) VALUES ($1, $2) ON CONFLICT DO NOTHING`)
	// New licences in one statement. A row whose identifier, import key
	// or status position is taken is not inserted (ON CONFLICT DO
	// NOTHING covers every unique index); the first such row, in ledger
	// order, is refused.
	q.insLicences = e(`WITH u AS (
		SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bytea[], $7::text[],
			$8::text[], $9::text[], $10::bigint[], $11::text[], $12::bigint[], $13::bigint[], $14::bigint[],
			$15::text[], $16::text[], $17::text[], $18::text[], $19::text[], $20::text[], $21::text[])
		AS u(id, class, agency, holder_code, holder_name, fields, status, reason, status_list, status_index,
			credential_hash, issued_at, updated_at, ledger_index, supersedes, import_key, issued_on, number,
			copy_of, device, copies)
	), ins AS (
		INSERT INTO {s}.licences (id, class, agency, holder_code, holder_name, fields, status, reason,
			status_list, status_index, credential_hash, issued_at, updated_at, ledger_index, last_event,
			superseded_by, supersedes, import_key, issued_on, number, copy_of, device, copies, unbound)
		SELECT id, class, agency, holder_code, holder_name, fields, status, reason, status_list, status_index,
			credential_hash, issued_at, updated_at, ledger_index, ledger_index + 1, '', supersedes, import_key,
			issued_on, number, copy_of, device,
			CASE WHEN copies = '' THEN '{}'::text[] ELSE string_to_array(copies, E'\n') END, false
		FROM u ORDER BY ledger_index
		ON CONFLICT DO NOTHING RETURNING ledger_index
	)
	SELECT {s}.reject(min(u.ledger_index), '` + codeExists + `', 'an identifier, import key or status position is taken')
	FROM u WHERE u.ledger_index NOT IN (SELECT ledger_index FROM ins) HAVING count(*) > 0`)
	// A new licence signed by a key retired by an earlier event is
	// refused (the first, in ledger order).
	q.checkKeys = e(`SELECT {s}.reject(min(u.idx), '` + codeRetired + `', 'the licence is signed by a retired agency key')
	FROM unnest($1::text[], $2::bigint[]) AS u(kid, idx) JOIN {s}.retired_keys r ON r.kid = u.kid AND r.idx < u.idx
	HAVING count(*) > 0`)
	// A fence (FenceKey) is a row with a negative idx, minus the Unix
	// milliseconds it was set at by the database's clock: it refuses
	// every later licence of the key, and the retirement replaces it.
	q.retireKey = e(`INSERT INTO {s}.retired_keys (kid, idx) VALUES ($1, $2)
		ON CONFLICT (kid) DO UPDATE SET idx = EXCLUDED.idx WHERE {s}.retired_keys.idx < 0`)
	q.insCreds = e(`INSERT INTO {s}.credentials (ledger_index, credential, qr) SELECT * FROM unnest($1::bigint[], $2::text[], $3::bytea[])`)
	q.insClaims = e(`INSERT INTO {s}.claim_tickets (ticket, licence_id, expires, salt, verifier, ledger_index)
		SELECT nextval('{s}.claim_ticket_seq'), * FROM unnest($1::text[], $2::bigint[], $3::bytea[], $4::bytea[], $5::bigint[])
		RETURNING ticket, ledger_index`)
	// A device copy joins its licence's copies; $3 bounds the ledger
	// index the licence may have (see tx.bound).
	q.addCopy = e(`WITH p AS (
		UPDATE {s}.licences SET copies = array_append(copies, $1::text)
		WHERE id = $2::text AND ledger_index <= $3::bigint AND NOT ($1::text = ANY (copies)) RETURNING 1)
	SELECT {s}.reject($4::bigint, '` + codeNotFound + `', 'the licence of a device copy is missing')
	WHERE NOT EXISTS (SELECT 1 FROM {s}.licences WHERE id = $2::text AND ledger_index <= $3::bigint)`)
	// A status change: on the record unless it saw this event or a later
	// one, then on its copies (but a copy unbound on its own), then the
	// watermark; a missing record is refused.
	// A status change: on the record unless it saw this event or a later
	// one, then on its copies (but a copy unbound on its own). In a
	// ledger transaction (apply) the watermark moves in the same
	// statement, the head being locked already, and a missing record is
	// refused; replayed on its own (applyReplay) the statement reports
	// what it found and locks no head row, which a writer locks before
	// licence rows (taking them in the other order could deadlock).
	change := `WITH a AS (
		SELECT $1::text AS id, $2::text AS status, $3::text AS reason, $4::bigint AS at, $5::bigint AS idx,
			$6::text AS superseded_by, $7::boolean AS unbind, $8::bigint AS bound
	), p AS (
		UPDATE {s}.licences l SET status = a.status, reason = a.reason, updated_at = a.at, last_event = a.idx + 1,
			superseded_by = CASE WHEN a.superseded_by <> '' THEN a.superseded_by ELSE l.superseded_by END,
			unbound = l.unbound OR a.unbind
		FROM a WHERE l.id = a.id AND l.last_event <= a.idx AND l.ledger_index <= a.bound RETURNING l.copies
	), c AS (
		UPDATE {s}.licences l SET status = a.status, reason = a.reason, updated_at = a.at, last_event = a.idx + 1
		FROM a WHERE l.id = ANY ((SELECT copies FROM p)::text[]) AND NOT l.unbound AND l.last_event <= a.idx RETURNING 1
	)`
	q.apply = e(change + `, w AS (
		UPDATE {s}.ledger_head SET watermark = greatest(watermark, (SELECT idx + 1 FROM a)) WHERE EXISTS (SELECT 1 FROM p) RETURNING 1
	)
	SELECT {s}.reject(a.idx, '` + codeNotFound + `', 'no licence ' || a.id) FROM a
	WHERE NOT EXISTS (SELECT 1 FROM {s}.licences l WHERE l.id = a.id AND l.ledger_index <= a.bound)`)
	q.applyReplay = e(change + `
	SELECT EXISTS (SELECT 1 FROM p), EXISTS (SELECT 1 FROM {s}.licences l, a WHERE l.id = a.id)`)
	q.putSeal = e(`INSERT INTO {s}.seals (esid, agency, holder_code, made_at, ledger_index, revoked_at, reason)
		VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING`)
	q.revokeSeal = e(`INSERT INTO {s}.seals (esid, revoked_at, reason) VALUES ($1, $2, $3)
		ON CONFLICT (esid) DO UPDATE SET revoked_at = excluded.revoked_at, reason = excluded.reason
		WHERE {s}.seals.revoked_at IS NULL`)
	q.putAudt = e(`INSERT INTO {s}.audit (idx, doc) SELECT * FROM unnest($1::bigint[], $2::bytea[])
		ON CONFLICT (idx) DO UPDATE SET doc = excluded.doc`)
	q.getRecord = e(`SELECT ` + recordCols + `, c.credential, c.qr FROM {s}.licences l
		LEFT JOIN {s}.credentials c ON c.ledger_index = l.ledger_index`)
	q.c = newConsentQueries(e)
	return q
}
