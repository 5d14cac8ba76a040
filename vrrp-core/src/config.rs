//! Validated per-virtual-router configuration with RFC 5798 §6.1 defaults and documented extras.

use core::fmt;
use std::net::IpAddr;
use std::time::Duration;

use crate::time::Centis;
use crate::types::{Family, PRIORITY_OWNER, Version, Vrid};

/// Configuration of one virtual router (one interface, VRID and address family).
///
/// Build with [`RouterConfig::new`] (RFC defaults), adjust the public fields, then hand it to
/// [`crate::VirtualRouter::new`], which validates it with [`RouterConfig::validate`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RouterConfig {
    /// Virtual router identifier (RFC 5798 §5.2.3).
    pub vrid: Vrid,
    /// Protocol version: v2 (RFC 3768) or v3 (RFC 5798).
    pub version: Version,
    /// Configured priority 1..=255; 255 means this router owns the virtual addresses
    /// (RFC 5798 §5.2.4, §6.1). Default 100 (RFC 5798 §6.1).
    pub priority: u8,
    /// Advertisement_Interval (RFC 5798 §6.1). Default 1 s. In v2 it must be whole seconds
    /// (RFC 3768 §5.3.7).
    pub advert_interval: Centis,
    /// Preempt_Mode (RFC 5798 §6.1): a higher-priority Backup takes over from a lower-priority
    /// Master. Default true. The address owner always preempts (§6.4.1: it starts as Master).
    pub preempt: bool,
    /// keepalived `preempt_delay`: after Startup (or link recovery), the Backup does not preempt
    /// a lower-priority Master until this long has passed; it keeps accepting that Master's
    /// adverts as if `preempt` were false. After the delay, lower-priority adverts are discarded
    /// (RFC 5798 §6.4.2) and the takeover happens when Master_Down_Timer fires. Default 0.
    pub preempt_delay: Duration,
    /// Accept_Mode (RFC 5798 §6.1): whether a non-owner Master accepts packets addressed to the
    /// VIPs. Default false. It has no effect on the election; it is reported to the data plane
    /// in [`crate::Role::Master`].
    pub accept_mode: bool,
    /// This router's primary address on the interface: the advert source and the tie-breaker
    /// (RFC 5798 §6.4.3). Its family is the router's family; v6 should be link-local (§5.1.2.2).
    pub primary_address: IpAddr,
    /// The virtual addresses (IPvX Address(es), RFC 5798 §5.2.9), all of the primary's family.
    pub virtual_addresses: Vec<IpAddr>,
    /// keepalived's inverse of `lower_prio_no_advert`: a Master receiving a lower-priority
    /// advert discards it (RFC 5798 §6.4.3) and, when this is true, also sends an advert at once
    /// so the other router sees the Master without waiting. Default true (keepalived's default;
    /// set false for strict RFC behaviour).
    pub reassert_on_lower_priority: bool,
    /// keepalived `higher_prio_send_advert`: a Master yielding to a higher-priority advert first
    /// sends one more advert of its own. Default false (keepalived's default; the RFC sends none).
    pub advert_before_yielding: bool,
    /// RFC 5798 §7.1 / RFC 3768 §7.1 "MAY verify the IPvX address(es)": compare the advert's
    /// address list with [`RouterConfig::virtual_addresses`]; on mismatch warn and, unless the
    /// sender's priority is 255, drop the advert. Default true.
    pub check_address_list: bool,
}

impl RouterConfig {
    /// A configuration with the RFC 5798 §6.1 defaults: priority 100, 1 s interval, preempt on,
    /// no preempt delay, accept mode off; keepalived defaults for the extras (see fields).
    #[must_use]
    pub fn new(
        vrid: Vrid,
        version: Version,
        primary_address: IpAddr,
        virtual_addresses: Vec<IpAddr>,
    ) -> Self {
        RouterConfig {
            vrid,
            version,
            priority: 100,
            advert_interval: Centis::DEFAULT,
            preempt: true,
            preempt_delay: Duration::ZERO,
            accept_mode: false,
            primary_address,
            virtual_addresses,
            reassert_on_lower_priority: true,
            advert_before_yielding: false,
            check_address_list: true,
        }
    }

    /// Address family, taken from the primary address.
    #[must_use]
    pub fn family(&self) -> Family {
        match self.primary_address {
            IpAddr::V4(_) => Family::V4,
            IpAddr::V6(_) => Family::V6,
        }
    }

    /// True when this router owns the virtual addresses (priority 255, RFC 5798 §6.1).
    #[must_use]
    pub fn is_owner(&self) -> bool {
        self.priority == PRIORITY_OWNER
    }

    /// Checks the configuration against the RFCs.
    ///
    /// # Errors
    /// The first problem found, as a [`ConfigError`].
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.priority == 0 {
            // RFC 5798 §5.2.4: 0 is reserved for "stop"; backups use 1..=254, owners 255.
            return Err(ConfigError::PriorityZero);
        }
        if self.virtual_addresses.is_empty() {
            // RFC 5798 §5.2.5 (with errata 8299 to RFC 9568): the address count is at least 1.
            return Err(ConfigError::NoVirtualAddress);
        }
        if self.virtual_addresses.len() > 255 {
            // RFC 5798 §5.2.5: Count IPvX Addrs is 8 bits.
            return Err(ConfigError::TooManyVirtualAddresses(
                self.virtual_addresses.len(),
            ));
        }
        let family = self.family();
        if let Some(bad) = self
            .virtual_addresses
            .iter()
            .find(|a| family_of(**a) != family)
        {
            // RFC 5798 §1: one address family per virtual router instance.
            return Err(ConfigError::MixedFamilies(*bad));
        }
        match self.version {
            Version::V2 => {
                if family == Family::V6 {
                    // RFC 3768 §1: VRRPv2 is IPv4 only.
                    return Err(ConfigError::V2WithIpv6);
                }
                if self.advert_interval.whole_secs().is_none() {
                    // RFC 3768 §5.3.7: the v2 interval is whole seconds.
                    return Err(ConfigError::V2IntervalNotWholeSeconds(self.advert_interval));
                }
            }
            Version::V3 => {
                if self.advert_interval > Centis::MAX_V3 {
                    // RFC 5798 §5.2.7: 12 bits of centiseconds.
                    return Err(ConfigError::V3IntervalTooLong(self.advert_interval));
                }
            }
        }
        Ok(())
    }
}

fn family_of(a: IpAddr) -> Family {
    match a {
        IpAddr::V4(_) => Family::V4,
        IpAddr::V6(_) => Family::V6,
    }
}

/// Why a [`RouterConfig`] was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConfigError {
    /// Priority 0 is reserved for the stop advert (RFC 5798 §5.2.4).
    PriorityZero,
    /// At least one virtual address is required (RFC 5798 §5.2.5).
    NoVirtualAddress,
    /// More than 255 virtual addresses (RFC 5798 §5.2.5).
    TooManyVirtualAddresses(usize),
    /// A virtual address of the other family than the primary address (RFC 5798 §1).
    MixedFamilies(IpAddr),
    /// VRRPv2 only carries IPv4 (RFC 3768 §1).
    V2WithIpv6,
    /// VRRPv2 intervals are whole seconds (RFC 3768 §5.3.7).
    V2IntervalNotWholeSeconds(Centis),
    /// VRRPv3 intervals are at most 40.95 s (RFC 5798 §5.2.7).
    V3IntervalTooLong(Centis),
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::PriorityZero => {
                f.write_str("priority 0 is reserved (RFC 5798 §5.2.4); use 1..=255")
            }
            ConfigError::NoVirtualAddress => {
                f.write_str("at least one virtual address is required")
            }
            ConfigError::TooManyVirtualAddresses(n) => {
                write!(f, "{n} virtual addresses; at most 255")
            }
            ConfigError::MixedFamilies(a) => {
                write!(
                    f,
                    "virtual address {a} is not of the primary address's family"
                )
            }
            ConfigError::V2WithIpv6 => f.write_str("VRRPv2 (RFC 3768) supports IPv4 only"),
            ConfigError::V2IntervalNotWholeSeconds(c) => {
                write!(
                    f,
                    "VRRPv2 advert interval {c} is not a whole number of seconds (1..=255)"
                )
            }
            ConfigError::V3IntervalTooLong(c) => {
                write!(f, "VRRPv3 advert interval {c} exceeds 40.95s")
            }
        }
    }
}

impl std::error::Error for ConfigError {}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, Ipv6Addr};

    fn v4(last: u8) -> IpAddr {
        IpAddr::V4(Ipv4Addr::new(192, 0, 2, last))
    }

    fn base() -> RouterConfig {
        RouterConfig::new(
            Vrid::new(51).expect("vrid"),
            Version::V3,
            v4(11),
            vec![v4(100)],
        )
    }

    // RFC 5798 §6.1: Priority default 100, Advertisement_Interval 1 s, Preempt_Mode true,
    // Accept_Mode false.
    #[test]
    fn new_config_carries_rfc_defaults() {
        let c = base();
        assert_eq!(
            (
                c.priority,
                c.advert_interval.get(),
                c.preempt,
                c.accept_mode
            ),
            (100, 100, true, false)
        );
        assert_eq!(
            (c.reassert_on_lower_priority, c.advert_before_yielding),
            (true, false)
        );
        assert_eq!(c.validate(), Ok(()));
        assert!(!c.is_owner());
    }

    // RFC 5798 §5.2.4: priority 0 is reserved.
    #[test]
    fn priority_zero_is_refused() {
        let mut c = base();
        c.priority = 0;
        assert_eq!(c.validate(), Err(ConfigError::PriorityZero));
    }

    // RFC 5798 §1 / §5.2.9: one family per instance.
    #[test]
    fn mixed_family_virtual_address_is_refused() {
        let mut c = base();
        c.virtual_addresses.push(IpAddr::V6(Ipv6Addr::LOCALHOST));
        assert_eq!(
            c.validate(),
            Err(ConfigError::MixedFamilies(IpAddr::V6(Ipv6Addr::LOCALHOST)))
        );
    }

    // RFC 3768 §1 and §5.3.7: v2 is IPv4-only with whole-second intervals.
    #[test]
    fn v2_refuses_fractional_interval_and_ipv6() {
        let mut c = base();
        c.version = Version::V2;
        c.advert_interval = Centis::new(10).expect("valid");
        assert_eq!(
            c.validate(),
            Err(ConfigError::V2IntervalNotWholeSeconds(c.advert_interval))
        );
        let six = IpAddr::V6(Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 1));
        let c6 = RouterConfig::new(c.vrid, Version::V2, six, vec![six]);
        assert_eq!(c6.validate(), Err(ConfigError::V2WithIpv6));
    }

    // RFC 5798 §5.2.5: at least one address.
    #[test]
    fn empty_virtual_address_list_is_refused() {
        let mut c = base();
        c.virtual_addresses.clear();
        assert_eq!(c.validate(), Err(ConfigError::NoVirtualAddress));
    }
}
