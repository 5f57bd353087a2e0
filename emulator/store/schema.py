"""The SQLite schema, generated from the SQLModel tables in ``store/models.py``.

Do not edit: run ``python -m emulator.store.models`` after changing a table (a test
checks that this file is what the tables generate).
"""

SCHEMA_VERSION = 4

# Parents before children: the order to create; reversed, the order to wipe.
TABLES = (
    "accounts",
    "callbacks",
    "fixture_rows",
    "api_keys",
    "callback_attempts",
    "calls",
    "connectors",
    "idempotency_records",
    "call_steps",
    "payment_sessions",
    "connector_attempts",
)

STATEMENTS = (
    "CREATE TABLE IF NOT EXISTS accounts (\n\tsid VARCHAR(34) NOT NULL, \n\tauth_token VARCHAR NOT NULL, \n\tfriendly_name VARCHAR NOT NULL, \n\tparent_sid VARCHAR, \n\tcreated_at_ms INTEGER NOT NULL, \n\tPRIMARY KEY (sid), \n\tFOREIGN KEY(parent_sid) REFERENCES accounts (sid)\n)",
    "CREATE INDEX IF NOT EXISTS ix_accounts_parent_sid ON accounts (parent_sid)",
    "CREATE TABLE IF NOT EXISTS callbacks (\n\tid INTEGER NOT NULL, \n\tpayment_sid VARCHAR, \n\taccount_sid VARCHAR NOT NULL, \n\tcall_sid VARCHAR NOT NULL, \n\tevent VARCHAR NOT NULL, \n\turl VARCHAR NOT NULL, \n\tmethod VARCHAR NOT NULL, \n\tparams VARCHAR NOT NULL, \n\tidempotency_token VARCHAR NOT NULL, \n\tstate VARCHAR NOT NULL, \n\tattempts INTEGER NOT NULL, \n\tstatus_code INTEGER, \n\terror VARCHAR, \n\tcreated_at_ms INTEGER NOT NULL, \n\tdelivered_at_ms INTEGER, \n\tPRIMARY KEY (id)\n)",
    "CREATE INDEX IF NOT EXISTS ix_callbacks_payment_sid ON callbacks (payment_sid)",
    "CREATE INDEX IF NOT EXISTS ix_callbacks_pending ON callbacks (state, id)",
    'CREATE TABLE IF NOT EXISTS fixture_rows (\n\t"key" VARCHAR NOT NULL, \n\tPRIMARY KEY ("key")\n)',
    "CREATE TABLE IF NOT EXISTS api_keys (\n\tsid VARCHAR(34) NOT NULL, \n\tsecret VARCHAR NOT NULL, \n\taccount_sid VARCHAR NOT NULL, \n\tfriendly_name VARCHAR NOT NULL, \n\tcreated_at_ms INTEGER NOT NULL, \n\tPRIMARY KEY (sid), \n\tFOREIGN KEY(account_sid) REFERENCES accounts (sid)\n)",
    "CREATE INDEX IF NOT EXISTS ix_api_keys_account_sid ON api_keys (account_sid)",
    "CREATE TABLE IF NOT EXISTS callback_attempts (\n\tid INTEGER NOT NULL, \n\tcallback_id INTEGER NOT NULL, \n\turl VARCHAR NOT NULL, \n\theaders VARCHAR NOT NULL, \n\tstatus_code INTEGER, \n\tduration_ms FLOAT NOT NULL, \n\terror VARCHAR, \n\tresponse VARCHAR NOT NULL, \n\tattempted_at_ms INTEGER NOT NULL, \n\tPRIMARY KEY (id), \n\tFOREIGN KEY(callback_id) REFERENCES callbacks (id)\n)",
    "CREATE INDEX IF NOT EXISTS ix_callback_attempts_callback_id ON callback_attempts (callback_id)",
    "CREATE TABLE IF NOT EXISTS calls (\n\tsid VARCHAR(34) NOT NULL, \n\taccount_sid VARCHAR NOT NULL, \n\tstatus VARCHAR NOT NULL, \n\turl VARCHAR, \n\tcaller VARCHAR, \n\tcreated_at_ms INTEGER NOT NULL, \n\tupdated_at_ms INTEGER NOT NULL, \n\tdirection VARCHAR NOT NULL, \n\tto_number VARCHAR, \n\tfrom_number VARCHAR, \n\truns_twiml BOOLEAN NOT NULL, \n\tvoice_url VARCHAR, \n\tvoice_method VARCHAR NOT NULL, \n\ttwiml VARCHAR, \n\tfallback_url VARCHAR, \n\tfallback_method VARCHAR NOT NULL, \n\tstatus_callback VARCHAR, \n\tstatus_callback_method VARCHAR NOT NULL, \n\tstatus_callback_events VARCHAR NOT NULL, \n\ttimeout INTEGER NOT NULL, \n\ttime_limit INTEGER NOT NULL, \n\tstart_time_ms INTEGER, \n\tend_time_ms INTEGER, \n\tsequence INTEGER NOT NULL, \n\tPRIMARY KEY (sid), \n\tFOREIGN KEY(account_sid) REFERENCES accounts (sid)\n)",
    "CREATE INDEX IF NOT EXISTS ix_calls_account_sid ON calls (account_sid)",
    "CREATE TABLE IF NOT EXISTS connectors (\n\taccount_sid VARCHAR NOT NULL, \n\tname VARCHAR NOT NULL, \n\tcharge BOOLEAN NOT NULL, \n\ttokenize BOOLEAN NOT NULL, \n\tcurrencies VARCHAR, \n\tpayment_methods VARCHAR NOT NULL, \n\ttoken_types VARCHAR NOT NULL, \n\tendpoint_url VARCHAR, \n\tusername VARCHAR, \n\tpassword VARCHAR, \n\tmode VARCHAR, \n\ttimeout_s FLOAT, \n\tretries INTEGER, \n\tlegacy_paths BOOLEAN, \n\tPRIMARY KEY (account_sid, name), \n\tFOREIGN KEY(account_sid) REFERENCES accounts (sid)\n)",
    'CREATE TABLE IF NOT EXISTS idempotency_records (\n\tid INTEGER NOT NULL, \n\taccount_sid VARCHAR NOT NULL, \n\tscope_sid VARCHAR NOT NULL, \n\t"key" VARCHAR NOT NULL, \n\tfingerprint VARCHAR NOT NULL, \n\tstatus INTEGER NOT NULL, \n\tbody BLOB NOT NULL, \n\tcreated_at_ms INTEGER NOT NULL, \n\tPRIMARY KEY (id), \n\tUNIQUE (account_sid, scope_sid, "key"), \n\tFOREIGN KEY(account_sid) REFERENCES accounts (sid)\n)',
    "CREATE INDEX IF NOT EXISTS ix_idempotency_records_created_at_ms ON idempotency_records (created_at_ms)",
    "CREATE TABLE IF NOT EXISTS call_steps (\n\tid INTEGER NOT NULL, \n\tcall_sid VARCHAR NOT NULL, \n\tat_ms INTEGER NOT NULL, \n\tkind VARCHAR NOT NULL, \n\tname VARCHAR NOT NULL, \n\turl VARCHAR, \n\tstatus_code INTEGER, \n\tcode INTEGER, \n\tdetail VARCHAR NOT NULL, \n\tbody VARCHAR NOT NULL, \n\tPRIMARY KEY (id), \n\tFOREIGN KEY(call_sid) REFERENCES calls (sid)\n)",
    "CREATE INDEX IF NOT EXISTS ix_call_steps_call_sid ON call_steps (call_sid)",
    "CREATE TABLE IF NOT EXISTS payment_sessions (\n\tsid VARCHAR(34) NOT NULL, \n\taccount_sid VARCHAR NOT NULL, \n\tcall_sid VARCHAR NOT NULL, \n\tstate VARCHAR NOT NULL, \n\tpayment_method VARCHAR NOT NULL, \n\tbank_account_type VARCHAR, \n\tcharge_amount VARCHAR, \n\tcurrency VARCHAR NOT NULL, \n\tdescription VARCHAR NOT NULL, \n\tinput VARCHAR NOT NULL, \n\tmin_postal_code_length INTEGER, \n\tparameter VARCHAR, \n\tpayment_connector VARCHAR NOT NULL, \n\tpostal_code BOOLEAN NOT NULL, \n\tsecurity_code BOOLEAN NOT NULL, \n\ttimeout INTEGER NOT NULL, \n\ttoken_type VARCHAR NOT NULL, \n\tvalid_card_types VARCHAR NOT NULL, \n\trequire_matching_inputs VARCHAR NOT NULL, \n\tconfirmation BOOLEAN NOT NULL, \n\tcaller VARCHAR NOT NULL, \n\torigin VARCHAR NOT NULL, \n\tpay_context VARCHAR, \n\tstatus_callback VARCHAR NOT NULL, \n\tcapturing VARCHAR, \n\tcaptured VARCHAR NOT NULL, \n\tcard_brand VARCHAR, \n\tgateway_outcome VARCHAR, \n\tinput_deadline_ms INTEGER, \n\tforced_outcome VARCHAR, \n\tresult VARCHAR, \n\tconfirmation_code VARCHAR NOT NULL, \n\tpayment_token VARCHAR NOT NULL, \n\tprofile_id VARCHAR NOT NULL, \n\tpayment_error VARCHAR NOT NULL, \n\tpay_error_code INTEGER, \n\tconnector_error VARCHAR NOT NULL, \n\tconnector_parameters VARCHAR NOT NULL, \n\tcreated_at_ms INTEGER NOT NULL, \n\tupdated_at_ms INTEGER NOT NULL, \n\tPRIMARY KEY (sid), \n\tFOREIGN KEY(account_sid) REFERENCES accounts (sid), \n\tFOREIGN KEY(call_sid) REFERENCES calls (sid)\n)",
    "CREATE INDEX IF NOT EXISTS ix_payment_sessions_account_sid ON payment_sessions (account_sid)",
    "CREATE INDEX IF NOT EXISTS ix_payment_sessions_call_state ON payment_sessions (call_sid, state)",
    "CREATE TABLE IF NOT EXISTS connector_attempts (\n\tid INTEGER NOT NULL, \n\tpayment_sid VARCHAR NOT NULL, \n\taccount_sid VARCHAR NOT NULL, \n\turl VARCHAR NOT NULL, \n\ttransaction_id VARCHAR NOT NULL, \n\tattempt INTEGER NOT NULL, \n\tstatus_code INTEGER, \n\tlatency_ms FLOAT NOT NULL, \n\terror VARCHAR, \n\trequest_body VARCHAR NOT NULL, \n\tresponse_excerpt VARCHAR NOT NULL, \n\tstarted_at_ms INTEGER NOT NULL, \n\tPRIMARY KEY (id), \n\tFOREIGN KEY(payment_sid) REFERENCES payment_sessions (sid)\n)",
    "CREATE INDEX IF NOT EXISTS ix_connector_attempts_payment_sid ON connector_attempts (payment_sid)",
)

# What an account reset deletes (``?`` is the account SID), children before parents.
ACCOUNT_WIPE = (
    "DELETE FROM connector_attempts WHERE account_sid = ?",
    "DELETE FROM payment_sessions WHERE account_sid = ?",
    "DELETE FROM call_steps WHERE call_sid IN (SELECT sid FROM calls WHERE account_sid = ?)",
    "DELETE FROM idempotency_records WHERE account_sid = ?",
    "DELETE FROM calls WHERE account_sid = ?",
    "DELETE FROM callback_attempts WHERE callback_id IN (SELECT id FROM callbacks WHERE account_sid = ?)",
    "DELETE FROM callbacks WHERE account_sid = ?",
)
