//! Blocking IPVS client on a generic-netlink socket (netlink_sys::Socket). The agent runs it off
//! its event loop (a plain thread or spawn_blocking). Every kernel error comes back as
//! `Error::Kernel` naming the operation and the object.
//!
//! The socket belongs to the network namespace of the thread that creates the client: IPVS
//! tables are per namespace.

use std::fmt;
use std::io;
use std::time::Duration;

use netlink_sys::{Socket, SocketAddr, protocols::NETLINK_GENERIC};

use crate::model::{Dest, DestInfo, DestKey, Info, Service, ServiceInfo, ServiceKey};
use crate::msg::{self, MsgBuilder, Reply};
use crate::plan::Op;

const NLM_F_REQUEST: u16 = 0x1;
const NLM_F_ACK: u16 = 0x4;
const NLM_F_DUMP: u16 = 0x300;
/// Receive buffer: larger than the kernel's largest dump skb (32 KiB, netlink_recvmsg's
/// max_recvmsg_len cap), so no datagram is truncated.
const RECV_BUF: usize = 64 * 1024;
/// Socket receive buffer asked for, so a batch of ACKs fits (SO_RCVBUFFORCE when privileged).
const SO_RCVBUF_WANTED: usize = 4 * 1024 * 1024;
/// Requests sent in one datagram before reading their ACKs (see `Client::set_batch`).
pub const DEFAULT_BATCH: usize = 256;

/// What went wrong, with the operation and its object.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The generic-netlink family "IPVS" is not registered: no ip_vs in this kernel.
    #[error("IPVS not available: kernel has no ip_vs (generic netlink family \"IPVS\" not found)")]
    NotAvailable,
    /// The kernel refused `op` with `errno`.
    #[error("{op}: {} ({}){}", errno_desc(*.errno), errno_name(*.errno), hint(.op, *.errno))]
    Kernel {
        /// The operation and its object, e.g. `add destination 192.0.2.10:80 to TCP 198.51.100.1:80`.
        op: String,
        /// Positive errno.
        errno: i32,
    },
    /// The netlink socket failed.
    #[error("{op}: netlink socket: {source}")]
    Io {
        /// The operation.
        op: String,
        /// The socket error.
        source: io::Error,
    },
    /// A kernel reply did not decode.
    #[error("{op}: {source}")]
    Decode {
        /// The operation.
        op: String,
        /// What was wrong with it.
        source: msg::DecodeError,
    },
}

impl Error {
    /// The errno of a kernel refusal, if that is what this is.
    pub fn errno(&self) -> Option<i32> {
        match self {
            Error::Kernel { errno, .. } => Some(*errno),
            _ => None,
        }
    }
}

fn errno_desc(e: i32) -> &'static str {
    nix::errno::Errno::from_raw(e).desc()
}

fn errno_name(e: i32) -> String {
    format!("{:?}", nix::errno::Errno::from_raw(e))
}

/// A hint where the errno alone misleads: ip_vs_add_service / ip_vs_edit_service return ENOENT
/// when the scheduler (or persistence engine) module does not exist.
fn hint(op: &str, errno: i32) -> &'static str {
    if errno == libc::ENOENT && op.contains(" service ") && op.contains("scheduler") {
        " - no such scheduler in this kernel?"
    } else {
        ""
    }
}

/// Blocking IPVS client.
pub struct Client {
    sock: Socket,
    family: u16,
    seq: u32,
    rbuf: Vec<u8>,
    batch: usize,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("family", &self.family)
            .field("seq", &self.seq)
            .finish_non_exhaustive()
    }
}

fn io_err(op: &str) -> impl FnOnce(io::Error) -> Error + '_ {
    move |source| Error::Io {
        op: op.to_owned(),
        source,
    }
}

impl Client {
    /// Opens a generic-netlink socket in the calling thread's network namespace and resolves the
    /// "IPVS" family (CTRL_CMD_GETFAMILY). `Error::NotAvailable` when the kernel has no ip_vs.
    pub fn new() -> Result<Client, Error> {
        let op = "open IPVS netlink socket";
        let mut sock = Socket::new(NETLINK_GENERIC).map_err(io_err(op))?;
        sock.bind_auto().map_err(io_err(op))?;
        sock.connect(&SocketAddr::new(0, 0)).map_err(io_err(op))?;
        // Short ACKs (no copy of the request): more of them fit in the receive buffer.
        sock.set_cap_ack(true).map_err(io_err(op))?;
        sock.set_rx_buf_sz(SO_RCVBUF_WANTED).map_err(io_err(op))?;
        force_rcvbuf(&sock, SO_RCVBUF_WANTED);
        set_recv_timeout(&sock, Duration::from_secs(30)).map_err(io_err(op))?;
        let mut c = Client {
            sock,
            family: 0,
            seq: 0,
            rbuf: Vec::with_capacity(RECV_BUF),
            batch: DEFAULT_BATCH,
        };
        c.family = c.resolve_family()?;
        Ok(c)
    }

    /// The family id the kernel gave "IPVS".
    pub fn family_id(&self) -> u16 {
        self.family
    }

    /// How many requests `execute` sends in one datagram before reading their ACKs (1 = one
    /// round trip per request). Bounded by the socket receive buffer that holds the ACKs.
    pub fn set_batch(&mut self, n: usize) {
        self.batch = n.clamp(1, 4096);
    }

    fn next_seq(&mut self) -> u32 {
        self.seq = self.seq.wrapping_add(1);
        self.seq
    }

    fn resolve_family(&mut self) -> Result<u16, Error> {
        let op = "resolve generic netlink family IPVS";
        let seq = self.next_seq();
        let mut b = MsgBuilder::new(
            Vec::new(),
            msg::GENL_ID_CTRL,
            NLM_F_REQUEST,
            seq,
            msg::CTRL_CMD_GETFAMILY,
            1,
        );
        b.string(msg::CTRL_ATTR_FAMILY_NAME, msg::IPVS_GENL_NAME);
        let mut id = None;
        match self.transact(op, b.finish(), seq, false, |_, attrs| {
            id = Some(msg::decode_family_id(attrs)?);
            Ok(())
        }) {
            Err(Error::Kernel { errno, .. }) if errno == libc::ENOENT => {
                return Err(Error::NotAvailable);
            }
            r => r?,
        }
        id.ok_or_else(|| Error::Decode {
            op: op.to_owned(),
            source: msg::DecodeError("no CTRL_CMD_GETFAMILY reply".into()),
        })
    }

    fn request(&mut self, flags: u16, cmd: u8) -> (MsgBuilder, u32) {
        let seq = self.next_seq();
        let b = MsgBuilder::new(
            Vec::new(),
            self.family,
            NLM_F_REQUEST | flags,
            seq,
            cmd,
            msg::IPVS_GENL_VERSION,
        );
        (b, seq)
    }

    fn send(&self, op: &str, buf: &[u8]) -> Result<(), Error> {
        self.sock.send(buf, 0).map_err(io_err(op))?;
        Ok(())
    }

    /// Receives one datagram into `self.rbuf`.
    fn recv(&mut self, op: &str) -> Result<(), Error> {
        self.rbuf.clear();
        let n = self
            .sock
            .recv(&mut self.rbuf, libc::MSG_TRUNC)
            .map_err(io_err(op))?;
        if n > self.rbuf.len() {
            return Err(Error::Decode {
                op: op.to_owned(),
                source: msg::DecodeError(format!(
                    "datagram of {n} bytes truncated to {}",
                    self.rbuf.len()
                )),
            });
        }
        Ok(())
    }

    /// Sends `buf` (one request with sequence `seq`) and reads replies until its ACK / error
    /// (`dump` = false) or NLMSG_DONE (`dump` = true), passing each genl message to `each`.
    fn transact(
        &mut self,
        op: &str,
        buf: Vec<u8>,
        seq: u32,
        dump: bool,
        mut each: impl FnMut(u8, &[u8]) -> Result<(), msg::DecodeError>,
    ) -> Result<(), Error> {
        self.send(op, &buf)?;
        let mut got_reply = false;
        loop {
            self.recv(op)?;
            let replies = msg::split_replies(&self.rbuf).map_err(|source| Error::Decode {
                op: op.to_owned(),
                source,
            })?;
            for r in replies {
                match r {
                    Reply::Genl {
                        seq: s, cmd, attrs, ..
                    } if s == seq => {
                        each(cmd, attrs).map_err(|source| Error::Decode {
                            op: op.to_owned(),
                            source,
                        })?;
                        got_reply = true;
                    }
                    Reply::Error { seq: s, errno } if s == seq => {
                        return Err(Error::Kernel {
                            op: op.to_owned(),
                            errno,
                        });
                    }
                    Reply::Ack { seq: s } if s == seq => return Ok(()),
                    Reply::Done { seq: s } if s == seq => return Ok(()),
                    // A `doit` GET answers with one message and no ACK (no NLM_F_ACK asked).
                    _ => {}
                }
            }
            if got_reply && !dump {
                return Ok(());
            }
        }
    }

    /// IPVS version and connection table size (IPVS_CMD_GET_INFO).
    pub fn info(&mut self) -> Result<Info, Error> {
        let op = "get IPVS info";
        let (b, seq) = self.request(0, msg::IPVS_CMD_GET_INFO);
        let mut info = None;
        self.transact(op, b.finish(), seq, false, |_, a| {
            info = Some(msg::decode_info(a)?);
            Ok(())
        })?;
        info.ok_or_else(|| Error::Decode {
            op: op.to_owned(),
            source: msg::DecodeError("no GET_INFO reply".into()),
        })
    }

    /// Every service of the namespace, with counters (IPVS_CMD_GET_SERVICE dump).
    pub fn list_services(&mut self) -> Result<Vec<ServiceInfo>, Error> {
        let (b, seq) = self.request(NLM_F_DUMP, msg::IPVS_CMD_GET_SERVICE);
        let mut out = Vec::new();
        self.transact("list services", b.finish(), seq, true, |_, a| {
            if let Some(nest) = msg::find_attr(a, msg::IPVS_CMD_ATTR_SERVICE)? {
                out.push(msg::decode_service(nest)?);
            }
            Ok(())
        })?;
        Ok(out)
    }

    /// The destinations of `service`, with counters (IPVS_CMD_GET_DEST dump).
    pub fn list_dests(&mut self, service: &ServiceKey) -> Result<Vec<DestInfo>, Error> {
        let (mut b, seq) = self.request(NLM_F_DUMP, msg::IPVS_CMD_GET_DEST);
        msg::put_service_id(&mut b, service);
        let family = service.family();
        let mut out = Vec::new();
        let op = format!("list destinations of {service}");
        self.transact(&op, b.finish(), seq, true, |_, a| {
            if let Some(nest) = msg::find_attr(a, msg::IPVS_CMD_ATTR_DEST)? {
                out.push(msg::decode_dest(nest, family)?);
            }
            Ok(())
        })?;
        Ok(out)
    }

    /// Adds a service.
    pub fn add_service(&mut self, svc: &Service) -> Result<(), Error> {
        self.run(&Op::AddService(svc.clone()))
    }

    /// Changes the settings of an existing service (scheduler, flags, timeout, netmask).
    pub fn edit_service(&mut self, svc: &Service) -> Result<(), Error> {
        self.run(&Op::EditService(svc.clone()))
    }

    /// Deletes a service and its destinations.
    pub fn del_service(&mut self, key: &ServiceKey) -> Result<(), Error> {
        self.run(&Op::DelService(*key))
    }

    /// Adds a destination to a service.
    pub fn add_dest(&mut self, service: &ServiceKey, dest: &Dest) -> Result<(), Error> {
        self.run(&Op::AddDest(*service, dest.clone()))
    }

    /// Changes the settings of a destination (forwarding, weight, thresholds).
    pub fn edit_dest(&mut self, service: &ServiceKey, dest: &Dest) -> Result<(), Error> {
        self.run(&Op::EditDest(*service, dest.clone()))
    }

    /// Deletes a destination.
    pub fn del_dest(&mut self, service: &ServiceKey, dest: &DestKey) -> Result<(), Error> {
        self.run(&Op::DelDest(*service, *dest))
    }

    /// Deletes every service of the namespace (IPVS_CMD_FLUSH). For tests and operators: the
    /// reconciler never flushes.
    pub fn flush(&mut self) -> Result<(), Error> {
        let (b, seq) = self.request(NLM_F_ACK, msg::IPVS_CMD_FLUSH);
        self.transact("flush IPVS", b.finish(), seq, false, |_, _| Ok(()))
    }

    /// Runs one operation and waits for its ACK.
    pub fn run(&mut self, op: &Op) -> Result<(), Error> {
        let mut r = self.execute(std::slice::from_ref(op));
        r.pop().unwrap_or(Ok(()))
    }

    fn encode_op(&mut self, buf: Vec<u8>, op: &Op) -> (Vec<u8>, u32) {
        let cmd = match op {
            Op::AddService(_) => msg::IPVS_CMD_NEW_SERVICE,
            Op::EditService(_) => msg::IPVS_CMD_SET_SERVICE,
            Op::DelService(_) => msg::IPVS_CMD_DEL_SERVICE,
            Op::AddDest(..) => msg::IPVS_CMD_NEW_DEST,
            Op::EditDest(..) => msg::IPVS_CMD_SET_DEST,
            Op::DelDest(..) => msg::IPVS_CMD_DEL_DEST,
        };
        let seq = self.next_seq();
        let mut b = MsgBuilder::new(
            buf,
            self.family,
            NLM_F_REQUEST | NLM_F_ACK,
            seq,
            cmd,
            msg::IPVS_GENL_VERSION,
        );
        match op {
            Op::AddService(s) | Op::EditService(s) => msg::put_service_full(&mut b, s),
            Op::DelService(k) => msg::put_service_id(&mut b, k),
            Op::AddDest(k, d) | Op::EditDest(k, d) => {
                msg::put_service_id(&mut b, k);
                msg::put_dest(&mut b, d, true);
            }
            Op::DelDest(k, d) => {
                msg::put_service_id(&mut b, k);
                // IPVS_CMD_DEL_DEST needs only ADDR and PORT (ip_vs_genl_parse_dest, !full_entry).
                let probe = Dest::new(d.addr, d.port, crate::model::Forwarding::Masq);
                msg::put_dest(&mut b, &probe, false);
            }
        }
        (b.finish(), seq)
    }

    /// Runs `ops` in order and returns one result per op; a failed op does not stop the others.
    /// Requests go out `set_batch` at a time in one datagram each (the kernel handles them in
    /// order: netlink_rcv_skb), then their ACKs are read.
    pub fn execute(&mut self, ops: &[Op]) -> Vec<Result<(), Error>> {
        let mut results: Vec<Option<Result<(), Error>>> = Vec::with_capacity(ops.len());
        for chunk in ops.chunks(self.batch) {
            let start = results.len();
            results.extend(chunk.iter().map(|_| None));
            let mut buf = Vec::with_capacity(chunk.len() * 128);
            let mut first = 0;
            for (i, op) in chunk.iter().enumerate() {
                let (b, seq) = self.encode_op(buf, op);
                buf = b;
                if i == 0 {
                    first = seq;
                }
            }
            if let Err(e) = self.send("send IPVS requests", &buf) {
                let text = e.to_string();
                for (i, op) in chunk.iter().enumerate() {
                    results[start + i] = Some(Err(Error::Io {
                        op: op.to_string(),
                        source: io::Error::other(text.clone()),
                    }));
                }
                continue;
            }
            let mut pending = chunk.len();
            while pending > 0 {
                if let Err(e) = self.recv("read IPVS acks") {
                    // Lost ACKs (e.g. ENOBUFS): the outcome of the rest is unknown.
                    let text = e.to_string();
                    for (i, op) in chunk.iter().enumerate() {
                        if results[start + i].is_none() {
                            results[start + i] = Some(Err(Error::Io {
                                op: op.to_string(),
                                source: io::Error::other(text.clone()),
                            }));
                        }
                    }
                    break;
                }
                let Ok(replies) = msg::split_replies(&self.rbuf) else {
                    continue; // a malformed datagram carries no ACK we can attribute
                };
                for r in replies {
                    let (seq, res) = match r {
                        Reply::Ack { seq } => (seq, Ok(())),
                        Reply::Error { seq, errno } => (seq, Err(errno)),
                        _ => continue,
                    };
                    let i = seq.wrapping_sub(first) as usize;
                    if i >= chunk.len() || results[start + i].is_some() {
                        continue; // stale reply of an earlier request
                    }
                    results[start + i] = Some(res.map_err(|errno| Error::Kernel {
                        op: chunk[i].to_string(),
                        errno,
                    }));
                    pending -= 1;
                }
            }
        }
        results.into_iter().map(|r| r.unwrap_or(Ok(()))).collect()
    }
}

fn force_rcvbuf(sock: &Socket, size: usize) {
    use std::os::fd::AsRawFd;
    let v = libc::c_int::try_from(size).unwrap_or(libc::c_int::MAX);
    // SAFETY: setsockopt on our own open fd with a valid pointer to a c_int and its size.
    // Failure (no CAP_NET_ADMIN) leaves the SO_RCVBUF value set before: ignored on purpose.
    unsafe {
        libc::setsockopt(
            sock.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_RCVBUFFORCE,
            (&v as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        );
    }
}

fn set_recv_timeout(sock: &Socket, d: Duration) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    let tv = libc::timeval {
        tv_sec: d.as_secs() as libc::time_t,
        tv_usec: libc::suseconds_t::from(d.subsec_micros() as i32),
    };
    // SAFETY: setsockopt on our own open fd with a valid pointer to a timeval and its size.
    let r = unsafe {
        libc::setsockopt(
            sock.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_RCVTIMEO,
            (&tv as *const libc::timeval).cast(),
            std::mem::size_of::<libc::timeval>() as libc::socklen_t,
        )
    };
    if r == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}
