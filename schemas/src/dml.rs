//! The check that CQL text is data modification only (DML): one INSERT,
//! UPDATE or DELETE, or one `BEGIN [UNLOGGED | COUNTER] BATCH … APPLY BATCH`
//! of those. The worker's catalog at start-up, its `--check-config` and the
//! raw statements in events all go through [`check_dml`], so a topic writer
//! cannot reach DDL, permissions or reads. The producer runs the same check
//! on raw statements before publishing them.
//!
//! A small tokenizer skips the parts of the text that can hide words, as
//! Cassandra's lexer reads them. These are string literals (`'…'` with `''`
//! as an escaped quote, and `$$…$$`), quoted identifiers (`"…"` with `""`)
//! and comments (`--` and `//` to the end of the line, `/* … */`). The
//! remaining words are checked against the statement structure. The
//! statement keywords below are reserved in CQL (Apache Cassandra
//! documentation, "Appendix A: CQL Keywords"), so an unquoted one is never a
//! table or column name, and one inside a statement starts another statement.

/// Reasons that CQL text is not a single DML statement.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DmlError {
    /// The text has no statement at all.
    #[error("the text is empty or only comments")]
    Empty,
    /// A string literal, quoted identifier or block comment is not closed.
    #[error("{what} opened at byte {offset} is never closed")]
    Unterminated {
        /// The open construct: `string literal`, `$$ string`, `quoted identifier` or `block comment`.
        what: &'static str,
        /// Byte offset of its opening character.
        offset: usize,
    },
    /// The statement starts with something other than INSERT, UPDATE, DELETE or BEGIN.
    #[error("it starts with `{keyword}`; only INSERT, UPDATE, DELETE and BEGIN [UNLOGGED|COUNTER] BATCH … APPLY BATCH of those are allowed, never schema changes (DDL), TRUNCATE, permissions or reads")]
    NotDml {
        /// The first word, as written.
        keyword: String,
    },
    /// A batch contains a statement other than INSERT, UPDATE or DELETE.
    #[error("the batch contains `{keyword}`; a batch may contain only INSERT, UPDATE and DELETE statements")]
    NotDmlInBatch {
        /// The keyword that starts the offending statement, as written.
        keyword: String,
    },
    /// The text contains more than one statement.
    #[error("it contains a second statement starting with `{keyword}`; give exactly one statement (group several writes in a BEGIN BATCH … APPLY BATCH)")]
    SeveralStatements {
        /// The keyword or symbol where the second statement starts, as written.
        keyword: String,
    },
    /// A batch is not of the form `BEGIN [UNLOGGED | COUNTER] BATCH … APPLY BATCH`.
    #[error("the batch is malformed: {reason}")]
    MalformedBatch {
        /// The problem found in the batch.
        reason: &'static str,
    },
}

/// A token of CQL text. Literals and quoted identifiers carry no text: the
/// check only needs to know that they are not keywords.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Token<'a> {
    /// An unquoted identifier, keyword or number.
    Word(&'a str),
    /// A string literal, `'…'` or `$$…$$`.
    Literal,
    /// A quoted identifier, `"…"`.
    QuotedIdentifier,
    /// `;`
    Semicolon,
    /// Any other character: punctuation, operators, bind markers.
    Symbol(char),
}

/// Splits `cql` into tokens, dropping whitespace and comments.
pub(crate) fn tokenize(cql: &str) -> Result<Vec<Token<'_>>, DmlError> {
    let bytes = cql.as_bytes();
    let mut tokens = Vec::new();
    let mut position = 0;

    while position < bytes.len() {
        let rest = &cql[position..];
        let character = rest.chars().next().expect("position is inside the text");
        if character.is_whitespace() {
            position += character.len_utf8();
        } else if rest.starts_with("--") || rest.starts_with("//") {
            position += rest.find('\n').unwrap_or(rest.len());
        } else if let Some(body) = rest.strip_prefix("/*") {
            let end = body.find("*/").ok_or(DmlError::Unterminated {
                what: "block comment",
                offset: position,
            })?;
            position += 2 + end + 2;
        } else if let Some(body) = rest.strip_prefix("$$") {
            let end = body.find("$$").ok_or(DmlError::Unterminated {
                what: "$$ string",
                offset: position,
            })?;
            tokens.push(Token::Literal);
            position += 2 + end + 2;
        } else if character == '\'' || character == '"' {
            position += quoted_len(rest, character).ok_or(DmlError::Unterminated {
                what: if character == '\'' {
                    "string literal"
                } else {
                    "quoted identifier"
                },
                offset: position,
            })?;
            tokens.push(if character == '\'' {
                Token::Literal
            } else {
                Token::QuotedIdentifier
            });
        } else if is_word_char(character) {
            let len = rest.find(|next: char| !is_word_char(next)).unwrap_or(rest.len());
            tokens.push(Token::Word(&rest[..len]));
            position += len;
        } else {
            tokens.push(if character == ';' {
                Token::Semicolon
            } else {
                Token::Symbol(character)
            });
            position += character.len_utf8();
        }
    }
    Ok(tokens)
}

/// Returns the length of the quoted text at the start of `rest`, quotes
/// included, where a doubled `quote` stands for one; `None` if unclosed.
fn quoted_len(rest: &str, quote: char) -> Option<usize> {
    let mut characters = rest.char_indices().skip(1).peekable();
    while let Some((index, character)) = characters.next() {
        if character != quote {
            continue;
        }
        if characters.peek().is_some_and(|&(_, next)| next == quote) {
            characters.next();
            continue;
        }
        return Some(index + quote.len_utf8());
    }
    None
}

fn is_word_char(character: char) -> bool {
    character.is_alphanumeric() || character == '_'
}

/// Keywords that start a DML statement.
const DML_KEYWORDS: [&str; 3] = ["INSERT", "UPDATE", "DELETE"];

/// Reserved keywords that start a statement of their own, or a batch's
/// parts, so none can appear inside a DML statement's body.
const STATEMENT_KEYWORDS: [&str; 15] = [
    "INSERT", "UPDATE", "DELETE", "BEGIN", "APPLY", "BATCH", "CREATE", "ALTER", "DROP", "TRUNCATE", "GRANT", "REVOKE",
    "USE", "SELECT", "DESCRIBE",
];

/// Checks that `cql` is one DML statement or one batch of them; a trailing
/// `;` is allowed.
pub fn check_dml(cql: &str) -> Result<(), DmlError> {
    let tokens = tokenize(cql)?;
    let mut cursor = Cursor {
        tokens: &tokens,
        next: 0,
    };

    let Some(first) = cursor.peek() else {
        return Err(DmlError::Empty);
    };
    match keyword_of(first) {
        Some(word) if is_one_of(word, &DML_KEYWORDS) => cursor.skip_statement_body(false)?,
        Some(word) if word.eq_ignore_ascii_case("BEGIN") => cursor.skip_batch()?,
        _ => {
            return Err(DmlError::NotDml {
                keyword: describe(first),
            })
        }
    }

    while cursor.peek() == Some(&Token::Semicolon) {
        cursor.next += 1;
    }
    match cursor.peek() {
        None => Ok(()),
        Some(token) => Err(DmlError::SeveralStatements {
            keyword: describe(token),
        }),
    }
}

/// A position in the token list.
struct Cursor<'t, 'a> {
    tokens: &'t [Token<'a>],
    next: usize,
}

impl Cursor<'_, '_> {
    fn peek(&self) -> Option<&Token<'_>> {
        self.tokens.get(self.next)
    }

    fn peek_keyword(&self) -> Option<&str> {
        self.peek().and_then(keyword_of)
    }

    /// Consumes the keyword at the cursor and the tokens up to the end of the
    /// statement: a `;` (not consumed) or the end of the text. Inside a
    /// batch, where `;` between statements is optional, the next DML keyword
    /// or APPLY also ends it. Any other statement keyword starts a statement
    /// that is not allowed here.
    fn skip_statement_body(&mut self, in_batch: bool) -> Result<(), DmlError> {
        self.next += 1;
        while let Some(token) = self.peek() {
            if *token == Token::Semicolon {
                break;
            }
            if let Some(word) = keyword_of(token).filter(|word| is_one_of(word, &STATEMENT_KEYWORDS)) {
                let keyword = word.to_string();
                return match in_batch {
                    true if is_one_of(word, &DML_KEYWORDS) || word.eq_ignore_ascii_case("APPLY") => Ok(()),
                    true => Err(DmlError::NotDmlInBatch { keyword }),
                    false => Err(DmlError::SeveralStatements { keyword }),
                };
            }
            self.next += 1;
        }
        Ok(())
    }

    /// Consumes `BEGIN [UNLOGGED | COUNTER] BATCH [USING …] statements APPLY BATCH`.
    fn skip_batch(&mut self) -> Result<(), DmlError> {
        self.next += 1;
        if self
            .peek_keyword()
            .is_some_and(|word| is_one_of(word, &["UNLOGGED", "COUNTER"]))
        {
            self.next += 1;
        }
        self.expect_batch_keyword("BEGIN must be followed by BATCH, UNLOGGED BATCH or COUNTER BATCH")?;
        self.skip_batch_options()?;

        let mut statements = 0;
        loop {
            match self.peek() {
                None => {
                    return Err(DmlError::MalformedBatch {
                        reason: "it does not end with APPLY BATCH",
                    })
                }
                Some(Token::Semicolon) => self.next += 1,
                Some(token) => match keyword_of(token) {
                    Some(word) if word.eq_ignore_ascii_case("APPLY") => break,
                    Some(word) if is_one_of(word, &DML_KEYWORDS) => {
                        self.skip_statement_body(true)?;
                        statements += 1;
                    }
                    _ => {
                        return Err(DmlError::NotDmlInBatch {
                            keyword: describe(token),
                        })
                    }
                },
            }
        }
        self.next += 1;
        self.expect_batch_keyword("APPLY must be followed by BATCH")?;
        if statements == 0 {
            return Err(DmlError::MalformedBatch {
                reason: "it contains no statement",
            });
        }
        Ok(())
    }

    fn expect_batch_keyword(&mut self, reason: &'static str) -> Result<(), DmlError> {
        match self.peek_keyword() {
            Some(word) if word.eq_ignore_ascii_case("BATCH") => {
                self.next += 1;
                Ok(())
            }
            _ => Err(DmlError::MalformedBatch { reason }),
        }
    }

    /// Consumes a batch's `USING TIMESTAMP …` clause, up to its first statement.
    fn skip_batch_options(&mut self) -> Result<(), DmlError> {
        if !self
            .peek_keyword()
            .is_some_and(|word| word.eq_ignore_ascii_case("USING"))
        {
            return Ok(());
        }
        while let Some(token) = self.peek() {
            if *token == Token::Semicolon {
                break;
            }
            if keyword_of(token).is_some_and(|word| is_one_of(word, &STATEMENT_KEYWORDS)) {
                break;
            }
            self.next += 1;
        }
        Ok(())
    }
}

fn keyword_of<'t>(token: &'t Token<'_>) -> Option<&'t str> {
    match token {
        Token::Word(word) => Some(word),
        _ => None,
    }
}

fn is_one_of(word: &str, keywords: &[&str]) -> bool {
    keywords.iter().any(|keyword| word.eq_ignore_ascii_case(keyword))
}

/// Names a token in an error message.
fn describe(token: &Token<'_>) -> String {
    match token {
        Token::Word(word) => (*word).to_string(),
        Token::Literal => "a string literal".into(),
        Token::QuotedIdentifier => "a quoted identifier".into(),
        Token::Semicolon => ";".into(),
        Token::Symbol(symbol) => symbol.to_string(),
    }
}

#[cfg(test)]
mod tests;
