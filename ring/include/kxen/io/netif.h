/* Network device protocol (vif): the tx ring (guest -> backend) and rx ring (backend -> guest)
 * between netfront and netback, and the xenstore keys of the handshake. Xen's names, numbers and
 * layouts (checked by ring/tests); kxen's text.
 *
 * A packet is one or more tx requests: the first carries the total packet size, NETTXF_more_data
 * chains the next slot, NETTXF_extra_info means the next slot holds a struct netif_extra_info
 * (GSO, multicast) instead of a request. Each request names a granted page, an offset and a
 * length within it. On rx the frontend posts empty granted pages; the backend fills them
 * (copying through grant copy) and answers with rx responses whose status is the byte count. */
#ifndef KXEN_IO_NETIF_H
#define KXEN_IO_NETIF_H

#include <kxen/io/ring.h>
#include <kxen/grant_table.h>

/* The fewest slots a backend must accept for one packet. */
#define XEN_NETIF_NR_SLOTS_MIN 18

#define _NETTXF_csum_blank (0)
#define NETTXF_csum_blank (1U << _NETTXF_csum_blank) /* checksum still to be filled */
#define _NETTXF_data_validated (1)
#define NETTXF_data_validated (1U << _NETTXF_data_validated)
#define _NETTXF_more_data (2)
#define NETTXF_more_data (1U << _NETTXF_more_data)
#define _NETTXF_extra_info (3)
#define NETTXF_extra_info (1U << _NETTXF_extra_info)

#define XEN_NETIF_MAX_TX_SIZE 0xFFFF

struct netif_tx_request {
    grant_ref_t gref;
    uint16_t offset; /* in the granted page */
    uint16_t flags;  /* NETTXF_* */
    uint16_t id;     /* echoed in the response */
    uint16_t size;   /* first slot: whole packet; others: this fragment */
};
typedef struct netif_tx_request netif_tx_request_t;

#define XEN_NETIF_EXTRA_TYPE_NONE (0)
#define XEN_NETIF_EXTRA_TYPE_GSO (1)
#define XEN_NETIF_EXTRA_TYPE_MCAST_ADD (2)
#define XEN_NETIF_EXTRA_TYPE_MCAST_DEL (3)
#define XEN_NETIF_EXTRA_TYPE_HASH (4)
#define XEN_NETIF_EXTRA_TYPE_MAX (5)

#define _XEN_NETIF_EXTRA_FLAG_MORE (0)
#define XEN_NETIF_EXTRA_FLAG_MORE (1U << _XEN_NETIF_EXTRA_FLAG_MORE)

#define XEN_NETIF_GSO_TYPE_NONE (0)
#define XEN_NETIF_GSO_TYPE_TCPV4 (1)
#define XEN_NETIF_GSO_TYPE_TCPV6 (2)

/* Occupies a whole slot (8 bytes). */
struct netif_extra_info {
    uint8_t type;  /* XEN_NETIF_EXTRA_TYPE_* */
    uint8_t flags; /* XEN_NETIF_EXTRA_FLAG_* */
    union {
        struct {
            uint16_t size; /* MSS */
            uint8_t type;  /* XEN_NETIF_GSO_TYPE_* */
            uint8_t pad;
            uint16_t features;
        } gso;
        struct {
            uint8_t addr[6];
        } mcast;
        struct {
            uint8_t type;
            uint8_t algorithm;
            uint8_t value[4];
        } hash;
        uint16_t pad[3];
    } u;
};
typedef struct netif_extra_info netif_extra_info_t;

struct netif_tx_response {
    uint16_t id;
    int16_t status; /* NETIF_RSP_* */
};
typedef struct netif_tx_response netif_tx_response_t;

struct netif_rx_request {
    uint16_t id;
    uint16_t pad;
    grant_ref_t gref; /* empty page to fill */
};
typedef struct netif_rx_request netif_rx_request_t;

#define _NETRXF_data_validated (0)
#define NETRXF_data_validated (1U << _NETRXF_data_validated)
#define _NETRXF_csum_blank (1)
#define NETRXF_csum_blank (1U << _NETRXF_csum_blank)
#define _NETRXF_more_data (2)
#define NETRXF_more_data (1U << _NETRXF_more_data)
#define _NETRXF_extra_info (3)
#define NETRXF_extra_info (1U << _NETRXF_extra_info)
#define _NETRXF_gso_prefix (4)
#define NETRXF_gso_prefix (1U << _NETRXF_gso_prefix)

struct netif_rx_response {
    uint16_t id;
    uint16_t offset;
    uint16_t flags; /* NETRXF_* */
    int16_t status; /* bytes received (> 0) or NETIF_RSP_* */
};
typedef struct netif_rx_response netif_rx_response_t;

DEFINE_RING_TYPES(netif_tx, struct netif_tx_request, struct netif_tx_response);
DEFINE_RING_TYPES(netif_rx, struct netif_rx_request, struct netif_rx_response);

#define NETIF_RSP_DROPPED -2
#define NETIF_RSP_ERROR -1
#define NETIF_RSP_OKAY 0
#define NETIF_RSP_NULL 1 /* a slot that only carried extra info */

/* ---- xenstore keys ------------------------------------------------------------------------ */
/* Frontend directory: */
#define NETIF_KEY_TX_RING_REF "tx-ring-ref"
#define NETIF_KEY_RX_RING_REF "rx-ring-ref"
#define NETIF_KEY_EVENT_CHANNEL "event-channel"
#define NETIF_KEY_EVENT_CHANNEL_TX "event-channel-tx" /* with feature-split-event-channels */
#define NETIF_KEY_EVENT_CHANNEL_RX "event-channel-rx"
#define NETIF_KEY_REQUEST_RX_COPY "request-rx-copy"
#define NETIF_KEY_FEATURE_RX_NOTIFY "feature-rx-notify"
#define NETIF_KEY_FEATURE_SG "feature-sg"
#define NETIF_KEY_FEATURE_GSO_TCPV4 "feature-gso-tcpv4"
#define NETIF_KEY_FEATURE_GSO_TCPV6 "feature-gso-tcpv6"
#define NETIF_KEY_FEATURE_NO_CSUM_OFFLOAD "feature-no-csum-offload"
#define NETIF_KEY_FEATURE_IPV6_CSUM_OFFLOAD "feature-ipv6-csum-offload"
#define NETIF_KEY_MULTI_QUEUE_NUM_QUEUES "multi-queue-num-queues"
#define NETIF_KEY_REQUEST_MULTICAST_CONTROL "request-multicast-control"
/* Backend directory: */
#define NETIF_KEY_MAC "mac"
#define NETIF_KEY_HANDLE "handle"
#define NETIF_KEY_FEATURE_RX_COPY "feature-rx-copy"
#define NETIF_KEY_FEATURE_SPLIT_EVENT_CHANNELS "feature-split-event-channels"
#define NETIF_KEY_MULTI_QUEUE_MAX_QUEUES "multi-queue-max-queues"
#define NETIF_KEY_FEATURE_MULTICAST_CONTROL "feature-multicast-control"

#endif
