/* SPDX-License-Identifier: MIT */
/*
 * Skipped H.264 pictures (see h264skip.h). What is read and written here
 * follows ISO/IEC 14496-10: 7.3.2.1 (sequence parameter set), 7.3.2.2
 * (picture parameter set), 7.3.3 (slice header), 7.3.4 (slice data with
 * CAVLC: mb_skip_run), 8.2.1.1 (picture order count, type 0) and 7.4.1
 * (emulation prevention).
 */
#include <errno.h>
#include <string.h>

#include <libavutil/mem.h>

#include "media/h264skip.h"
#include "core/banned.h"

enum {
    NAL_SLICE = 1,
    NAL_IDR = 5,
    NAL_SPS = 7,
    NAL_PPS = 8,
    HEADER_BYTES = 64, /* enough unescaped bytes for any slice header fields read here */
};

/* ---- bits ------------------------------------------------------------- */

struct bit_reader {
    const uint8_t *p;
    size_t n_bits, at;
    int overrun; /* read past the end: the values are 0 and the caller refuses the result */
};

static unsigned read_bits(struct bit_reader *r, int n)
{
    unsigned v = 0;
    for (int i = 0; i < n; i++) {
        unsigned bit = 0;
        if (r->at < r->n_bits)
            bit = (r->p[r->at >> 3] >> (7 - (r->at & 7))) & 1;
        else
            r->overrun = 1;
        r->at++;
        v = (v << 1) | bit;
    }
    return v;
}

/* ue(v): Exp-Golomb, up to 31 leading zeros. */
static unsigned read_ue(struct bit_reader *r)
{
    int zeros = 0;
    while (read_bits(r, 1) == 0) {
        if (++zeros > 31 || r->overrun) {
            r->overrun = 1;
            return 0;
        }
    }
    return (1u << zeros) - 1 + read_bits(r, zeros);
}

static int read_se(struct bit_reader *r)
{
    unsigned k = read_ue(r);
    return k & 1 ? (int)((k + 1) / 2) : -(int)(k / 2);
}

struct bit_writer {
    uint8_t buf[HEADER_BYTES];
    size_t at; /* bits written */
};

static void write_bits(struct bit_writer *w, int n, unsigned v)
{
    for (int i = n - 1; i >= 0; i--, w->at++) {
        if ((w->at >> 3) >= sizeof(w->buf))
            return; /* cannot happen with the fields written here (see make_nal()) */
        if ((v >> i) & 1)
            w->buf[w->at >> 3] |= (uint8_t)(0x80 >> (w->at & 7));
    }
}

static void write_ue(struct bit_writer *w, unsigned v)
{
    int len = 0;
    for (unsigned x = v + 1; x > 1; x >>= 1)
        len++;
    write_bits(w, len, 0);
    write_bits(w, len + 1, v + 1);
}

static void write_se(struct bit_writer *w, int v)
{
    write_ue(w, v > 0 ? 2u * (unsigned)v - 1 : 2u * (unsigned)-v);
}

/*
 * `header` then the RBSP in `w` with its stop bit, emulation prevention
 * applied (a 3 after two zeros when the next byte is 0-3), after an Annex B
 * start code. Returns the bytes written to `out`, which holds 2 * HEADER_BYTES.
 */
static size_t make_nal(uint8_t header, struct bit_writer *w, uint8_t *out)
{
    write_bits(w, 1, 1);
    size_t n = (w->at + 7) / 8, len = 0;
    int zeros = 0;
    static const uint8_t start[4] = { 0, 0, 0, 1 };
    memcpy(out, start, 4);
    len = 4;
    out[len++] = header;
    for (size_t i = 0; i < n; i++) {
        if (zeros >= 2 && w->buf[i] <= 3) {
            out[len++] = 3;
            zeros = 0;
        }
        out[len++] = w->buf[i];
        zeros = w->buf[i] == 0 ? zeros + 1 : 0;
    }
    return len;
}

/* The first `cap` bytes of a NAL unit's payload (after its header byte), emulation prevention removed. */
static size_t unescape(const uint8_t *nal, size_t n, uint8_t *out, size_t cap)
{
    size_t len = 0;
    int zeros = 0;
    for (size_t i = 1; i < n && len < cap; i++) {
        if (zeros >= 2 && nal[i] == 3) {
            zeros = 0;
            continue;
        }
        out[len++] = nal[i];
        zeros = nal[i] == 0 ? zeros + 1 : 0;
    }
    return len;
}

/* The next NAL unit of an Annex B buffer from *at: its start and length, 0 at the end. */
static int next_nal(const uint8_t *data, size_t size, size_t *at, const uint8_t **nal,
                    size_t *len)
{
    size_t i = *at;
    while (i + 3 <= size && !(data[i] == 0 && data[i + 1] == 0 && data[i + 2] == 1))
        i++;
    if (i + 3 > size)
        return 0;
    size_t start = i + 3, end = start;
    while (end + 3 <= size && !(data[end] == 0 && data[end + 1] == 0 &&
                                (data[end + 2] == 1 || (data[end + 2] == 0 && end + 3 < size &&
                                                        data[end + 3] == 1))))
        end++;
    if (end + 3 > size)
        end = size;
    *nal = data + start;
    *len = end - start;
    *at = end;
    return *len > 0;
}

/* ---- parameter sets --------------------------------------------------- */

static void skip_scaling_list(struct bit_reader *r, int size)
{
    int last = 8, next = 8;
    for (int j = 0; j < size && !r->overrun; j++) {
        if (next != 0)
            next = (last + read_se(r) + 256) % 256;
        last = next == 0 ? last : next;
    }
}

/* 7.3.2.1, up to frame_mbs_only_flag. 1: usable; 0: not for skipped pictures; < 0: malformed. */
static int read_sps(struct h264_skip *s, const uint8_t *nal, size_t n)
{
    uint8_t buf[256];
    size_t len = unescape(nal, n, buf, sizeof(buf));
    struct bit_reader r = { .p = buf, .n_bits = len * 8 };
    unsigned profile = read_bits(&r, 8);
    read_bits(&r, 16); /* constraint flags, level_idc */
    read_ue(&r);       /* seq_parameter_set_id */
    static const unsigned high[] = { 100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135 };
    for (size_t i = 0; i < sizeof(high) / sizeof(high[0]); i++) {
        if (profile != high[i])
            continue;
        unsigned chroma = read_ue(&r);
        if (chroma == 3)
            read_bits(&r, 1);
        read_ue(&r);       /* bit_depth_luma_minus8 */
        read_ue(&r);       /* bit_depth_chroma_minus8 */
        read_bits(&r, 1);  /* qpprime_y_zero_transform_bypass_flag */
        if (read_bits(&r, 1))
            for (int k = 0; k < (chroma != 3 ? 8 : 12); k++)
                if (read_bits(&r, 1))
                    skip_scaling_list(&r, k < 6 ? 16 : 64);
        break;
    }
    s->log2_max_frame_num = (int)read_ue(&r) + 4;
    unsigned poc_type = read_ue(&r);
    if (poc_type == 0)
        s->log2_max_poc_lsb = (int)read_ue(&r) + 4;
    else
        return 0; /* counts from frame numbers: x264 without B-frames */
    read_ue(&r);      /* max_num_ref_frames */
    read_bits(&r, 1); /* gaps_in_frame_num_value_allowed_flag */
    unsigned w = read_ue(&r) + 1, h = read_ue(&r) + 1;
    unsigned frame_mbs_only = read_bits(&r, 1);
    if (r.overrun || s->log2_max_frame_num > 16 || s->log2_max_poc_lsb > 16 || w > 4096 ||
        h > 4096)
        return -1;
    s->mbs = (int)(w * h);
    return frame_mbs_only ? 1 : 0;
}

/* 7.3.2.2: our picture parameter set, as an Annex B NAL unit in `out`. */
static size_t make_pps(const struct h264_skip *s, uint8_t *out)
{
    struct bit_writer w = { 0 };
    write_ue(&w, (unsigned)s->pps_id);
    write_ue(&w, 0);     /* seq_parameter_set_id */
    write_bits(&w, 1, 0); /* entropy_coding_mode_flag: CAVLC */
    write_bits(&w, 1, 0); /* bottom_field_pic_order_in_frame_present_flag */
    write_ue(&w, 0);     /* num_slice_groups_minus1 */
    write_ue(&w, 0);     /* num_ref_idx_l0_default_active_minus1: one reference */
    write_ue(&w, 0);     /* num_ref_idx_l1_default_active_minus1 */
    write_bits(&w, 1, 0); /* weighted_pred_flag */
    write_bits(&w, 2, 0); /* weighted_bipred_idc */
    write_se(&w, 0);     /* pic_init_qp_minus26 */
    write_se(&w, 0);     /* pic_init_qs_minus26 */
    write_se(&w, 0);     /* chroma_qp_index_offset */
    write_bits(&w, 1, 1); /* deblocking_filter_control_present_flag */
    write_bits(&w, 1, 0); /* constrained_intra_pred_flag */
    write_bits(&w, 1, 0); /* redundant_pic_cnt_present_flag */
    return make_nal(0x68, &w, out); /* nal_ref_idc 3, type 8 */
}

int h264_skip_init(struct h264_skip *s, uint8_t **extradata, int *size, struct kino_err *err)
{
    memset(s, 0, sizeof(*s));
    const uint8_t *nal;
    size_t len, at = 0;
    int sps = -1, pps_id = -1, pic_order_present = 0;
    while (*extradata && next_nal(*extradata, (size_t)*size, &at, &nal, &len)) {
        if ((nal[0] & 0x1f) == NAL_SPS && sps < 0) {
            sps = read_sps(s, nal, len);
        } else if ((nal[0] & 0x1f) == NAL_PPS && pps_id < 0) {
            uint8_t buf[16];
            size_t n = unescape(nal, len, buf, sizeof(buf));
            struct bit_reader r = { .p = buf, .n_bits = n * 8 };
            pps_id = (int)read_ue(&r);
            read_ue(&r);      /* seq_parameter_set_id */
            read_bits(&r, 1); /* entropy_coding_mode_flag */
            pic_order_present = (int)read_bits(&r, 1);
            if (r.overrun)
                pps_id = -1;
        }
    }
    if (sps < 0 || pps_id < 0)
        return kino_err_set(err, KINO_EINTERNAL,
                            "the H.264 encoder gave no readable parameter sets; this is a bug "
                            "in kino");
    /* Our id after the encoder's; frames only; a count of 2 within half the range (8.2.1.1). */
    if (sps == 0 || pic_order_present || pps_id >= 255 || s->log2_max_poc_lsb < 3)
        return 0;
    s->pps_id = pps_id + 1;
    uint8_t pps[2 * HEADER_BYTES];
    size_t n = make_pps(s, pps);
    uint8_t *grown = av_realloc(*extradata, (size_t)*size + n + AV_INPUT_BUFFER_PADDING_SIZE);
    if (!grown)
        return kino_err_set(err, -ENOMEM, "out of memory");
    memcpy(grown + *size, pps, n);
    memset(grown + *size + n, 0, AV_INPUT_BUFFER_PADDING_SIZE);
    *extradata = grown;
    *size += (int)n;
    s->ok = 1;
    return 0;
}

/* ---- pictures --------------------------------------------------------- */

/* 8.2.1.1: the picture order count a decoder gives `lsb` after the reference picture `ref`. */
static int64_t full_poc(const struct h264_skip *s, int64_t ref, unsigned lsb)
{
    int64_t max = (int64_t)1 << s->log2_max_poc_lsb;
    int64_t ref_lsb = ((ref % max) + max) % max, msb = ref - ref_lsb;
    if ((int64_t)lsb < ref_lsb && ref_lsb - (int64_t)lsb >= max / 2)
        msb += max;
    else if ((int64_t)lsb > ref_lsb && (int64_t)lsb - ref_lsb > max / 2)
        msb -= max;
    return msb + lsb;
}

void h264_skip_note(struct h264_skip *s, const uint8_t *data, size_t size)
{
    if (!s->ok)
        return;
    const uint8_t *nal;
    size_t len, at = 0;
    while (next_nal(data, size, &at, &nal, &len)) {
        int type = nal[0] & 0x1f, ref = (nal[0] >> 5) & 3;
        if (type != NAL_SLICE && type != NAL_IDR)
            continue;
        uint8_t buf[HEADER_BYTES];
        size_t n = unescape(nal, len, buf, sizeof(buf));
        struct bit_reader r = { .p = buf, .n_bits = n * 8 };
        if (read_ue(&r) != 0)
            continue; /* not the picture's first slice */
        read_ue(&r);  /* slice_type */
        read_ue(&r);  /* pic_parameter_set_id */
        int frame_num = (int)read_bits(&r, s->log2_max_frame_num);
        if (type == NAL_IDR)
            read_ue(&r); /* idr_pic_id */
        unsigned lsb = read_bits(&r, s->log2_max_poc_lsb);
        if (r.overrun)
            continue;
        int64_t poc = type == NAL_IDR ? (int64_t)lsb : full_poc(s, s->ref_poc, lsb);
        if (type == NAL_IDR || poc > s->max_poc)
            s->max_poc = poc;
        if (ref) {
            s->ref_poc = poc;
            s->ref_frame_num = frame_num;
        }
    }
}

int h264_skip_picture(struct h264_skip *s, AVPacket *pkt, struct kino_err *err)
{
    /* A reference picture in turn (see h264skip.h): the next frame_num, two more in order. */
    int frame_num = (s->ref_frame_num + 1) % (1 << s->log2_max_frame_num);
    int64_t poc = s->max_poc + 2;
    unsigned lsb = (unsigned)(poc % ((int64_t)1 << s->log2_max_poc_lsb));
    if (poc - s->ref_poc >= ((int64_t)1 << s->log2_max_poc_lsb) / 2)
        return kino_err_set(err, KINO_EINTERNAL,
                            "a repeated picture comes too long after the last picture the H.264 "
                            "encoder gave; this is a bug in kino");
    struct bit_writer w = { 0 };
    write_ue(&w, 0);                                /* first_mb_in_slice */
    write_ue(&w, 5);                                /* slice_type: P, the whole picture */
    write_ue(&w, (unsigned)s->pps_id);
    write_bits(&w, s->log2_max_frame_num, (unsigned)frame_num);
    write_bits(&w, s->log2_max_poc_lsb, lsb);
    write_bits(&w, 1, 0);                           /* num_ref_idx_active_override_flag */
    write_bits(&w, 1, 0);                           /* ref_pic_list_modification_flag_l0 */
    write_bits(&w, 1, 0);                           /* adaptive_ref_pic_marking_mode_flag */
    write_se(&w, 0);                                /* slice_qp_delta */
    write_ue(&w, 1);                                /* disable_deblocking_filter_idc */
    write_ue(&w, (unsigned)s->mbs);                 /* mb_skip_run: every macroblock */
    uint8_t nal[2 * HEADER_BYTES];
    size_t n = make_nal(0x21, &w, nal); /* nal_ref_idc 1, type 1 */
    if (av_new_packet(pkt, (int)n) < 0)
        return kino_err_set(err, -ENOMEM, "out of memory");
    memcpy(pkt->data, nal, n);
    s->ref_frame_num = frame_num;
    s->ref_poc = poc;
    s->max_poc = poc;
    return 0;
}
