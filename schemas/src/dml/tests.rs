use super::*;

fn rejection(cql: &str) -> DmlError {
    check_dml(cql).expect_err(cql)
}

#[test]
fn single_dml_statements_pass() {
    let accepted = [
        "INSERT INTO ks.t (id, body) VALUES (?, ?)",
        "insert into ks.t (id) values (?) USING TTL ? AND TIMESTAMP ?;",
        "UPDATE ks.counts SET likes = likes + ? WHERE id = ?",
        "DELETE FROM ks.t WHERE id = ? IF EXISTS",
        "  -- leading comment\nUPDATE ks.t SET a = ? WHERE id = ?;;",
        "INSERT INTO ks.t JSON ?",
    ];

    for cql in accepted {
        assert_eq!(check_dml(cql), Ok(()), "{cql}");
    }
}

#[test]
fn keywords_inside_literals_and_comments_pass() {
    let accepted = [
        "INSERT INTO ks.t (id, body) VALUES (?, 'DROP TABLE x')",
        "INSERT INTO ks.t (id, body) VALUES (?, 'it''s; DROP TABLE x; --')",
        "INSERT INTO ks.t (id, body) VALUES (?, $$ '; DROP TABLE x $$)",
        "INSERT INTO ks.t (id, \"select\", \"a\"\"drop\") VALUES (?, ?, ?)",
        "UPDATE ks.t SET a = ? WHERE id = ? -- ; DROP TABLE x",
        "UPDATE ks.t SET a = ? WHERE id = ? // ; DROP TABLE x",
        "UPDATE ks.t /* ; DROP TABLE x; */ SET a = ? WHERE id = ?",
    ];

    for cql in accepted {
        assert_eq!(check_dml(cql), Ok(()), "{cql}");
    }
}

#[test]
fn batches_of_dml_pass() {
    let accepted = [
        "BEGIN BATCH INSERT INTO ks.t (id) VALUES (?); UPDATE ks.t SET a = ? WHERE id = ?; APPLY BATCH",
        "BEGIN UNLOGGED BATCH INSERT INTO ks.t (id) VALUES (?) DELETE FROM ks.t WHERE id = ? APPLY BATCH;",
        "begin counter batch update ks.c set n = n + ? where id = ?; apply batch",
        "BEGIN BATCH USING TIMESTAMP ? INSERT INTO ks.t (id) VALUES ('APPLY BATCH; DROP TABLE t'); APPLY BATCH",
    ];

    for cql in accepted {
        assert_eq!(check_dml(cql), Ok(()), "{cql}");
    }
}

#[test]
fn ddl_permissions_and_reads_are_rejected() {
    let cases = [
        ("CREATE TABLE ks.t (id int PRIMARY KEY)", "CREATE"),
        ("alter table ks.t add c int", "alter"),
        ("DROP TABLE ks.t", "DROP"),
        ("TRUNCATE ks.t", "TRUNCATE"),
        ("GRANT ALL ON ks.t TO bob", "GRANT"),
        ("REVOKE ALL ON ks.t FROM bob", "REVOKE"),
        ("USE ks", "USE"),
        ("SELECT * FROM ks.t", "SELECT"),
        ("LIST ROLES", "LIST"),
        ("/* INSERT */ DROP TABLE ks.t", "DROP"),
        ("'INSERT' INTO ks.t (id) VALUES (?)", "a string literal"),
    ];

    for (cql, keyword) in cases {
        assert_eq!(
            rejection(cql),
            DmlError::NotDml {
                keyword: keyword.into()
            },
            "{cql}"
        );
    }
}

#[test]
fn several_statements_are_rejected() {
    let cases = [
        ("INSERT INTO ks.t (id) VALUES (?); DROP TABLE ks.t", "DROP"),
        (
            "INSERT INTO ks.t (id) VALUES (?); INSERT INTO ks.t (id) VALUES (?)",
            "INSERT",
        ),
        ("INSERT INTO ks.t (id) VALUES (?) DROP TABLE ks.t", "DROP"),
        ("UPDATE ks.t SET a = ? WHERE id = ? APPLY BATCH", "APPLY"),
        (
            "BEGIN BATCH INSERT INTO ks.t (id) VALUES (?); APPLY BATCH; DROP TABLE ks.t",
            "DROP",
        ),
    ];

    for (cql, keyword) in cases {
        assert_eq!(
            rejection(cql),
            DmlError::SeveralStatements {
                keyword: keyword.into()
            },
            "{cql}"
        );
    }
}

#[test]
fn batches_hiding_other_statements_are_rejected() {
    let cases = [
        (
            "BEGIN BATCH INSERT INTO ks.t (id) VALUES (?); DROP TABLE ks.t; APPLY BATCH",
            "DROP",
        ),
        (
            "BEGIN BATCH INSERT INTO ks.t (id) VALUES (?) TRUNCATE ks.t APPLY BATCH",
            "TRUNCATE",
        ),
        ("BEGIN BATCH SELECT * FROM ks.t; APPLY BATCH", "SELECT"),
        (
            "BEGIN BATCH USING TIMESTAMP 5 CREATE TABLE ks.x (id int PRIMARY KEY); APPLY BATCH",
            "CREATE",
        ),
        (
            "BEGIN BATCH BEGIN BATCH INSERT INTO ks.t (id) VALUES (?); APPLY BATCH; APPLY BATCH",
            "BEGIN",
        ),
    ];

    for (cql, keyword) in cases {
        assert_eq!(
            rejection(cql),
            DmlError::NotDmlInBatch {
                keyword: keyword.into()
            },
            "{cql}"
        );
    }
}

#[test]
fn malformed_batches_are_rejected() {
    let cases = [
        "BEGIN BATCH INSERT INTO ks.t (id) VALUES (?);",
        "BEGIN LOGGED INSERT INTO ks.t (id) VALUES (?); APPLY BATCH",
        "BEGIN BATCH APPLY BATCH",
        "BEGIN BATCH INSERT INTO ks.t (id) VALUES (?); APPLY",
    ];

    for cql in cases {
        assert!(matches!(rejection(cql), DmlError::MalformedBatch { .. }), "{cql}");
    }
}

#[test]
fn unclosed_quotes_and_comments_are_rejected() {
    let cases = [
        ("INSERT INTO ks.t (id) VALUES ('open)", "string literal", 30),
        ("INSERT INTO ks.t (id) VALUES ('it''s)", "string literal", 30),
        ("INSERT INTO ks.t (\"id) VALUES (?)", "quoted identifier", 18),
        ("INSERT INTO ks.t (id) VALUES ($$ open)", "$$ string", 30),
        ("INSERT INTO ks.t /* open", "block comment", 17),
    ];

    for (cql, what, offset) in cases {
        assert_eq!(rejection(cql), DmlError::Unterminated { what, offset }, "{cql}");
    }
}

#[test]
fn empty_text_is_rejected() {
    for cql in ["", "   ", "-- only a comment", "/* nothing */"] {
        assert_eq!(rejection(cql), DmlError::Empty, "{cql:?}");
    }
}

#[test]
fn tokenizer_keeps_words_and_drops_comments() {
    let tokens = tokenize("UPDATE ks.t -- note\nSET a='x''y' /* c */ WHERE \"Id\" = ?;").unwrap();

    assert_eq!(
        tokens,
        vec![
            Token::Word("UPDATE"),
            Token::Word("ks"),
            Token::Symbol('.'),
            Token::Word("t"),
            Token::Word("SET"),
            Token::Word("a"),
            Token::Symbol('='),
            Token::Literal,
            Token::Word("WHERE"),
            Token::QuotedIdentifier,
            Token::Symbol('='),
            Token::Symbol('?'),
            Token::Semicolon,
        ]
    );
}

#[test]
fn error_messages_name_the_keyword() {
    let message = rejection("BEGIN BATCH INSERT INTO ks.t (id) VALUES (?); DROP TABLE t; APPLY BATCH").to_string();

    assert!(message.contains("`DROP`"), "{message}");
    assert!(message.contains("only INSERT, UPDATE and DELETE"), "{message}");
}
