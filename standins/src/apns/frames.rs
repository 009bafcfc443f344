//! A read-side HTTP/2 frame filter for the GOAWAY fault.
//!
//! h2 writes into a GOAWAY the highest stream id it has received, so to send
//! GOAWAY with a chosen last stream id while the client has streams above it
//! in flight, the frames of those streams must never reach h2. This filter
//! parses the client's frames (RFC 9113, section 4.1: 9-byte header with a
//! 24-bit length, type, flags and 31-bit stream id) and drops every frame of a
//! client stream above the limit, reporting each such stream once.
//!
//! Dropping HEADERS frames would desynchronize HPACK for later header blocks,
//! but client stream ids only grow, so every later HEADERS frame belongs to a
//! dropped stream too.

use std::collections::BTreeSet;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use bytes::{Buf, BytesMut};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::Notify;

/// The client connection preface (RFC 9113, section 3.4).
const PREFACE_LEN: usize = 24;
const FRAME_HEADER_LEN: usize = 9;
const HEADERS_FRAME: u8 = 0x1;

/// Streams the filter dropped, shared with the connection task.
#[derive(Debug, Default)]
pub(crate) struct DroppedStreams {
    ids: Mutex<BTreeSet<u32>>,
    /// Signalled when the first frame of a new dropped stream arrives.
    pub(crate) arrived: Notify,
}

impl DroppedStreams {
    /// The dropped stream ids, ascending.
    pub(crate) fn ids(&self) -> Vec<u32> {
        self.ids
            .lock()
            .expect("dropped-stream lock is never poisoned")
            .iter()
            .copied()
            .collect()
    }
}

/// Wraps the server side of a connection.
pub(crate) struct StreamFilter<IO> {
    inner: IO,
    last_stream_id: u32,
    dropped: Arc<DroppedStreams>,
    preface_left: usize,
    raw: BytesMut,
    ready: BytesMut,
    eof: bool,
}

impl<IO> StreamFilter<IO> {
    /// Passes client streams up to `last_stream_id` and drops the rest.
    pub(crate) fn new(inner: IO, last_stream_id: u32, dropped: Arc<DroppedStreams>) -> StreamFilter<IO> {
        StreamFilter {
            inner,
            last_stream_id,
            dropped,
            preface_left: PREFACE_LEN,
            raw: BytesMut::new(),
            ready: BytesMut::new(),
            eof: false,
        }
    }

    /// Moves complete frames from `raw` to `ready`, dropping filtered ones.
    fn sort_frames(&mut self) {
        if self.preface_left > 0 {
            let take = self.preface_left.min(self.raw.len());
            self.ready.extend_from_slice(&self.raw.split_to(take));
            self.preface_left -= take;
        }
        while self.preface_left == 0 && self.raw.len() >= FRAME_HEADER_LEN {
            let length = u32::from_be_bytes([0, self.raw[0], self.raw[1], self.raw[2]]) as usize;
            if self.raw.len() < FRAME_HEADER_LEN + length {
                break;
            }
            let frame_type = self.raw[3];
            let stream_id = u32::from_be_bytes([self.raw[5], self.raw[6], self.raw[7], self.raw[8]]) & 0x7fff_ffff;
            let frame = self.raw.split_to(FRAME_HEADER_LEN + length);

            let client_stream = stream_id % 2 == 1;
            if client_stream && stream_id > self.last_stream_id {
                if frame_type == HEADERS_FRAME {
                    let new = self
                        .dropped
                        .ids
                        .lock()
                        .expect("dropped-stream lock is never poisoned")
                        .insert(stream_id);
                    if new {
                        self.dropped.arrived.notify_one();
                    }
                }
                continue;
            }
            self.ready.extend_from_slice(&frame);
        }
    }
}

impl<IO: AsyncRead + Unpin> AsyncRead for StreamFilter<IO> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        loop {
            if !this.ready.is_empty() {
                let take = this.ready.len().min(buf.remaining());
                buf.put_slice(&this.ready[..take]);
                this.ready.advance(take);
                return Poll::Ready(Ok(()));
            }
            if this.eof {
                return Poll::Ready(Ok(()));
            }

            let mut chunk = [0u8; 16 * 1024];
            let mut chunk_buf = ReadBuf::new(&mut chunk);
            match Pin::new(&mut this.inner).poll_read(cx, &mut chunk_buf) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Err(error)) => return Poll::Ready(Err(error)),
                Poll::Ready(Ok(())) if chunk_buf.filled().is_empty() => this.eof = true,
                Poll::Ready(Ok(())) => {
                    this.raw.extend_from_slice(chunk_buf.filled());
                    this.sort_frames();
                }
            }
        }
    }
}

impl<IO: AsyncWrite + Unpin> AsyncWrite for StreamFilter<IO> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
