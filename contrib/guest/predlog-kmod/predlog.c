// SPDX-License-Identifier: GPL-2.0
/*
 * predlog: Linux guest driver for the predlog flight-recorder device
 *
 * The device (QEMU "-device predlog", PCI 1af4:10f0) logs records that the
 * guest hands it through a descriptor ring (interface 1.1,
 * docs/specs/predlog.rst; registers in hw/predlog/predlog-regs.h).  This
 * driver owns that ring and exposes one misc character device per device,
 * /dev/predlog0, /dev/predlog1, ...: every write() is one record, and
 * write() returns only once the device has acknowledged (or refused) it.
 *
 * Concurrency.  Submitters are serialised by submit_lock, a mutex, because
 * filling a slot means copy_from_user(), which may sleep.  Waiting for the
 * acknowledgement happens after the mutex is dropped, so several writers
 * can have descriptors in flight.  Everything the waiters and the
 * submitter share (indices, slot ownership, the dead/broken flags, MMIO
 * after probe) is under the spinlock "lock"; it is never taken in the
 * interrupt handlers, which only wake the wait queue, so plain spin_lock()
 * suffices.
 *
 * Slot ownership.  Descriptor i uses slot i % ring_size for both the
 * descriptor and its payload buffer.  A slot may be filled again only when
 * the device has consumed it (RING_HEAD passed it) and its writer has read
 * the status the device wrote back (slot->waiting is false), so a status
 * is never overwritten before its writer saw it.
 *
 * Nothing the device reports is trusted: RING_HEAD must stay between the
 * consumer index we know and our producer index, and statuses outside the
 * documented set are errors.  A device that breaks these rules is marked
 * broken and every further write() fails with -EIO.
 *
 * Ring recovery.  The device halts its ring when it cannot read a
 * descriptor slot or write a status back (STATUS.RING_HALTED, ERROR =
 * BAD_DESCRIPTOR); it raises no interrupt for that, so a halt shows as a
 * write (or a wait for a slot) that times out.  The driver then checks
 * STATUS and, if the ring halted or was stopped behind its back (a reset),
 * restarts it as docs/specs/predlog.rst says: stop it, make sure bus
 * mastering is on, program the same ring memory again, clear ERROR and
 * start it at index 0.  Descriptors that were in flight are not
 * resubmitted (if the status write-back failed the record may already be
 * in the pool, and a resubmission would log it twice): their slots are
 * marked aborted and their writers get -EIO.  ring_gen counts the
 * restarts; a writer compares it with the value it submitted under to know
 * that its index belongs to an older ring.  Slots a writer still waits on
 * are not reused after the restart before it has looked at them.
 *
 * Copyright (c) 2026 The predlog authors
 */

#include <linux/bits.h>
#include <linux/build_bug.h>
#include <linux/dma-mapping.h>
#include <linux/idr.h>
#include <linux/interrupt.h>
#include <linux/io.h>
#include <linux/kref.h>
#include <linux/log2.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/pci.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/stddef.h>
#include <linux/timekeeping.h>
#include <linux/uaccess.h>
#include <linux/wait.h>

/* Plain C99 macros shared with the device model; see Kbuild */
#include "predlog-regs.h"
#include "predlog-ioctl.h"

#define DRV_NAME		"predlog"
#define PREDLOG_DEFAULT_SEVERITY	6	/* LOG_INFO, as logger(1) */

static unsigned int ring_entries = 256;
module_param(ring_entries, uint, 0444);
MODULE_PARM_DESC(ring_entries,
		 "Descriptors in the ring, a power of two 2..4096 (default 256)");

static unsigned int max_record = 4096;
module_param(max_record, uint, 0444);
MODULE_PARM_DESC(max_record,
		 "Largest record in bytes; payload buffers are this big, capped by the device's MAX_PAYLOAD (default 4096)");

static unsigned int timeout_ms = 5000;
module_param(timeout_ms, uint, 0644);
MODULE_PARM_DESC(timeout_ms,
		 "How long write() waits for the device, in ms (default 5000, at least 1)");

/* timeout_ms may change at any time through sysfs; 0 would never wait */
static unsigned long predlog_timeout(void)
{
	return msecs_to_jiffies(max(READ_ONCE(timeout_ms), 1U));
}

/* The ring descriptor exactly as the device reads it (little-endian) */
struct predlog_desc {
	__le64 addr;
	__le32 len;
	__le16 func;
	u8 severity;
	u8 flags;
	__le64 timestamp;
	__le32 status;
	__le32 seq;
};

static_assert(sizeof(struct predlog_desc) == PREDLOG_DESC_SIZE);
static_assert(offsetof(struct predlog_desc, addr) == PREDLOG_DESC_OFF_ADDR);
static_assert(offsetof(struct predlog_desc, len) == PREDLOG_DESC_OFF_LEN);
static_assert(offsetof(struct predlog_desc, func) == PREDLOG_DESC_OFF_FUNC);
static_assert(offsetof(struct predlog_desc, severity) ==
	      PREDLOG_DESC_OFF_SEVERITY);
static_assert(offsetof(struct predlog_desc, flags) == PREDLOG_DESC_OFF_FLAGS);
static_assert(offsetof(struct predlog_desc, timestamp) ==
	      PREDLOG_DESC_OFF_TIMESTAMP);
static_assert(offsetof(struct predlog_desc, status) ==
	      PREDLOG_DESC_OFF_STATUS);
static_assert(offsetof(struct predlog_desc, seq) == PREDLOG_DESC_OFF_SEQ);

struct predlog_slot {
	void *buf;		/* payload buffer, max_record bytes */
	dma_addr_t dma;
	bool waiting;		/* its writer has not collected the status */
	bool aborted;		/* in flight when the ring was reset */
};

struct predlog_dev {
	struct kref ref;	/* probe + one per open file */
	struct pci_dev *pdev;
	void __iomem *regs;
	int id;			/* N of /dev/predlogN */
	char name[16];
	char irq_names[2][24];	/* request_irq() keeps the pointers */
	struct miscdevice misc;

	/* Read-only after probe */
	u32 version;
	u32 caps;
	u32 num_funcs;
	u32 max_payload;
	u32 max_record;
	u32 ring_size;		/* power of two */

	struct predlog_desc *ring;
	dma_addr_t ring_dma;
	struct predlog_slot *slots;

	struct mutex submit_lock;	/* one submitter fills a slot at a time */
	spinlock_t lock;		/* everything below, and MMIO */
	wait_queue_head_t wq;		/* completions and freed slots */
	u32 prod;			/* next descriptor index to fill */
	u32 head;			/* device's consumer index, validated */
	bool dead;			/* removed or shut down: no MMIO, no DMA */
	bool broken;			/* device broke the protocol */
	u32 ring_gen;			/* ring restarts since probe */
	u32 last_seq;			/* of the latest OK descriptor */

	/* Statistics for sysfs; updated under lock, read racily */
	u64 records;
	u64 dropped;
	u64 rejected;
	u64 timeouts;
	u64 ring_resets;		/* ring restarted after a halt/stop */
	atomic64_t pressure_events;
};

struct predlog_file {
	struct predlog_dev *pd;
	u16 func;		/* READ_ONCE/WRITE_ONCE: ioctl vs write */
	u8 severity;
	bool has_seq;		/* under pd->lock */
	u32 last_seq;		/* under pd->lock */
};

static DEFINE_IDA(predlog_ida);

static const char *const predlog_err_names[] = {
	[PREDLOG_ERR_NONE] = "none",
	[PREDLOG_ERR_BAD_REGISTER] = "bad register",
	[PREDLOG_ERR_BAD_VALUE] = "bad value",
	[PREDLOG_ERR_BAD_VECTOR] = "bad vector",
	[PREDLOG_ERR_IRQ_UNAVAILABLE] = "irq unavailable",
	[PREDLOG_ERR_BAD_RING] = "bad ring",
	[PREDLOG_ERR_RING_BUSY] = "ring busy",
	[PREDLOG_ERR_BAD_INDEX] = "bad index",
	[PREDLOG_ERR_BAD_DESCRIPTOR] = "bad descriptor",
	[PREDLOG_ERR_BAD_FUNCTION] = "bad function",
	[PREDLOG_ERR_BAD_LENGTH] = "bad length",
	[PREDLOG_ERR_DMA] = "payload not in guest memory",
	[PREDLOG_ERR_RESERVED] = "reserved bits set",
};

static const char *predlog_err_name(u32 err)
{
	if (err < ARRAY_SIZE(predlog_err_names) && predlog_err_names[err])
		return predlog_err_names[err];
	return "unknown";
}

static u32 predlog_read(struct predlog_dev *pd, unsigned int reg)
{
	return readl(pd->regs + reg);
}

static void predlog_write_reg(struct predlog_dev *pd, unsigned int reg,
			      u32 val)
{
	writel(val, pd->regs + reg);
}

static void predlog_free_dev(struct kref *ref)
{
	struct predlog_dev *pd = container_of(ref, struct predlog_dev, ref);

	kfree(pd->slots);
	kfree(pd);
}

static void predlog_mark_broken(struct predlog_dev *pd, const char *why)
{
	lockdep_assert_held(&pd->lock);
	if (!pd->broken)
		dev_err(&pd->pdev->dev,
			"%s; refusing further records until the driver is reloaded\n",
			why);
	pd->broken = true;
}

/*
 * Account the descriptors the device consumed since we last looked, in
 * [from, to).  Their slots are not reused before the owners read them, so
 * reading the status here is safe.
 */
static void predlog_account(struct predlog_dev *pd, u32 from, u32 to)
{
	u32 mask = pd->ring_size - 1;

	for (; from != to; from++) {
		struct predlog_desc *d = &pd->ring[from & mask];
		u32 status = le32_to_cpu(READ_ONCE(d->status));

		if (status == PREDLOG_DESC_STS_OK) {
			pd->records++;
			pd->last_seq = le32_to_cpu(READ_ONCE(d->seq));
		} else if (status == PREDLOG_DESC_STS_DROPPED) {
			pd->dropped++;
		} else {
			pd->rejected++;
		}
	}
}

static int predlog_reset_ring(struct predlog_dev *pd, u32 status);

/*
 * Refresh pd->head from RING_HEAD.  The device may only move it forward,
 * and never past what we submitted; anything else (including the all-ones
 * of a vanished device) breaks the device, unless a reset (a function
 * level reset, CONTROL.RESET) stopped the ring and zeroed RING_HEAD: then
 * the ring is restarted, which bumps ring_gen.  Returns false if broken.
 */
static bool predlog_refresh_head(struct predlog_dev *pd)
{
	u32 head, status;

	lockdep_assert_held(&pd->lock);
	if (pd->dead || pd->broken)
		return false;

	/*
	 * readl() orders this MMIO read before the following reads of the
	 * coherent ring, so the statuses we then read are at least as new as
	 * the index.
	 */
	head = predlog_read(pd, PREDLOG_REG_RING_HEAD);
	if (head - pd->head > pd->prod - pd->head) {
		status = predlog_read(pd, PREDLOG_REG_STATUS);
		if (status != U32_MAX &&
		    !(status & (PREDLOG_STS_RING_RUNNING | PREDLOG_STS_RING_HALTED)))
			return !predlog_reset_ring(pd, status);
		dev_err(&pd->pdev->dev,
			"RING_HEAD %u is outside [%u, %u]\n",
			head, pd->head, pd->prod);
		predlog_mark_broken(pd, "device reported an impossible ring index");
		return false;
	}
	predlog_account(pd, pd->head, head);
	pd->head = head;
	return true;
}

/* Is descriptor @idx (submitted, so within the last ring_size) consumed? */
static bool predlog_consumed(struct predlog_dev *pd, u32 idx)
{
	/* in flight iff idx is in [head, prod) */
	return idx - pd->head >= pd->prod - pd->head;
}

/* Wait condition of a writer: its descriptor is done, or waiting is moot. */
static bool predlog_done(struct predlog_dev *pd, u32 idx, u32 gen)
{
	bool done;

	spin_lock(&pd->lock);
	/* Refreshing the head may reset the ring: check gen again after it */
	done = gen != pd->ring_gen || !predlog_refresh_head(pd) ||
	       gen != pd->ring_gen || predlog_consumed(pd, idx);
	spin_unlock(&pd->lock);
	return done;
}

static bool predlog_slot_free_locked(struct predlog_dev *pd)
{
	return pd->prod - pd->head < pd->ring_size &&
	       !pd->slots[pd->prod & (pd->ring_size - 1)].waiting;
}

/* Wait condition of a submitter: a slot is free, or waiting is moot. */
static bool predlog_space(struct predlog_dev *pd)
{
	bool ok;

	spin_lock(&pd->lock);
	ok = !predlog_refresh_head(pd) || predlog_slot_free_locked(pd);
	spin_unlock(&pd->lock);
	return ok;
}

/*
 * Program our ring into the device and start it; the ring must be off.
 * The driver's indices then follow the device's new, empty ring.
 */
static int predlog_program_ring(struct predlog_dev *pd)
{
	struct device *dev = &pd->pdev->dev;
	u32 status, err, head, tail;

	predlog_write_reg(pd, PREDLOG_REG_ERROR, 0);
	predlog_write_reg(pd, PREDLOG_REG_RING_BASE_LO, lower_32_bits(pd->ring_dma));
	predlog_write_reg(pd, PREDLOG_REG_RING_BASE_HI, upper_32_bits(pd->ring_dma));
	predlog_write_reg(pd, PREDLOG_REG_RING_SIZE, pd->ring_size);
	predlog_write_reg(pd, PREDLOG_REG_CONTROL,
			  PREDLOG_CTRL_ENABLE | PREDLOG_CTRL_RING_ENABLE);

	status = predlog_read(pd, PREDLOG_REG_STATUS);
	err = predlog_read(pd, PREDLOG_REG_ERROR);
	if (err || !(status & PREDLOG_STS_RING_RUNNING)) {
		dev_err(dev, "device did not start the ring (STATUS=0x%x, ERROR=%u: %s)\n",
			status, err, predlog_err_name(err));
		return -EIO;
	}

	/* Both indices count from wherever the device says they are */
	head = predlog_read(pd, PREDLOG_REG_RING_HEAD);
	tail = predlog_read(pd, PREDLOG_REG_RING_TAIL);
	if (tail != head) {
		dev_err(dev, "new ring is not empty (RING_HEAD=%u, RING_TAIL=%u)\n",
			head, tail);
		return -EIO;
	}
	pd->head = head;
	pd->prod = head;
	return 0;
}

/*
 * The ring halted, or a reset we did not ask for stopped it (STATUS is
 * @status): restart it on the same memory, without unbinding.  What the
 * device completed before it stopped is accounted as usual; what was still
 * in flight is not resubmitted but aborted, and its writers get -EIO.
 * Returns 0 when the ring runs again, else -EIO with the device broken.
 */
static int predlog_reset_ring(struct predlog_dev *pd, u32 status)
{
	u32 mask = pd->ring_size - 1;
	u32 err, done;

	lockdep_assert_held(&pd->lock);
	if (status & PREDLOG_STS_RING_HALTED) {
		/* RING_HEAD stays at the descriptor that failed */
		if (!predlog_refresh_head(pd))
			return -EIO;
	} else {
		/*
		 * A reset set RING_HEAD to 0.  Descriptors complete in order,
		 * status first, so the completed ones are those with a status.
		 */
		for (done = pd->head; done != pd->prod; done++) {
			if (READ_ONCE(pd->ring[done & mask].status) ==
			    cpu_to_le32(PREDLOG_DESC_STS_PENDING))
				break;
		}
		predlog_account(pd, pd->head, done);
		pd->head = done;
	}

	err = predlog_read(pd, PREDLOG_REG_ERROR);
	dev_warn_ratelimited(&pd->pdev->dev,
			     "ring %s (STATUS=0x%x, ERROR=%u: %s), resetting it; records in flight, failed with EIO: %u\n",
			     status & PREDLOG_STS_RING_HALTED ? "halted" : "stopped",
			     status, err, predlog_err_name(err),
			     pd->prod - pd->head);
	pd->ring_resets++;
	for (done = pd->head; done != pd->prod; done++)
		pd->slots[done & mask].aborted = true;

	/* Stopping the ring clears RING_HALTED; the registers are ours again */
	predlog_write_reg(pd, PREDLOG_REG_CONTROL, PREDLOG_CTRL_ENABLE);
	/*
	 * Bus mastering turned off is one way to halt the ring, and the
	 * device could not start it again without; the driver set it at probe.
	 */
	pci_set_master(pd->pdev);
	pd->ring_gen++;
	if (predlog_program_ring(pd)) {
		predlog_mark_broken(pd, "the ring could not be restarted");
		return -EIO;
	}
	/* Writers of aborted descriptors, and submitters waiting for a slot */
	wake_up_all(&pd->wq);
	return 0;
}

/*
 * The device did not answer in time.  If it halted or stopped the ring it
 * never will: restart the ring.  Returns 0 if the ring was restarted, else
 * the errno for the writer.
 */
static int predlog_timed_out(struct predlog_dev *pd)
{
	u32 status;

	lockdep_assert_held(&pd->lock);
	if (pd->dead)
		return -ENODEV;
	if (pd->broken)
		return -EIO;
	pd->timeouts++;
	status = predlog_read(pd, PREDLOG_REG_STATUS);
	if (status == U32_MAX) {
		/* A read from a device that is gone */
		predlog_mark_broken(pd, "the device does not answer (STATUS reads all ones)");
		return -EIO;
	}
	if (status & PREDLOG_STS_RING_HALTED || !(status & PREDLOG_STS_RING_RUNNING))
		return predlog_reset_ring(pd, status);
	dev_warn_ratelimited(&pd->pdev->dev,
			     "no acknowledgement within %u ms (head %u, prod %u)\n",
			     timeout_ms, pd->head, pd->prod);
	return -ETIMEDOUT;
}

/*
 * Called with submit_lock held; returns with it held.  Holding the mutex
 * while we wait keeps later submitters queued behind us in order.  On
 * success *@idx is the free producer index and *@gen the ring generation
 * it belongs to.
 */
static int predlog_wait_space(struct predlog_dev *pd, bool nonblock,
			      u32 *idx, u32 *gen)
{
	long t;
	int ret;

	for (;;) {
		spin_lock(&pd->lock);
		if (pd->dead) {
			ret = -ENODEV;
		} else if (!predlog_refresh_head(pd)) {
			ret = -EIO;
		} else if (predlog_slot_free_locked(pd)) {
			*idx = pd->prod;
			*gen = pd->ring_gen;
			ret = 0;
		} else {
			ret = -EAGAIN;
		}
		spin_unlock(&pd->lock);
		if (ret != -EAGAIN || nonblock)
			return ret;

		t = wait_event_interruptible_timeout(pd->wq, predlog_space(pd),
						     predlog_timeout());
		/* Nothing is submitted yet, so a restart cannot duplicate */
		if (t < 0)
			return -ERESTARTSYS;
		if (t == 0 && !predlog_space(pd)) {
			spin_lock(&pd->lock);
			ret = predlog_timed_out(pd);
			spin_unlock(&pd->lock);
			/* After a ring reset, look for a slot again */
			if (ret)
				return ret;
		}
	}
}

/* Map the status the device wrote back to write()'s result. */
static ssize_t predlog_collect(struct predlog_dev *pd, struct predlog_file *pf,
			       u32 idx, size_t len)
{
	struct predlog_desc *d = &pd->ring[idx & (pd->ring_size - 1)];
	u32 status = le32_to_cpu(READ_ONCE(d->status));
	u32 err;

	lockdep_assert_held(&pd->lock);
	if (status == PREDLOG_DESC_STS_OK) {
		pf->last_seq = le32_to_cpu(READ_ONCE(d->seq));
		pf->has_seq = true;
		return len;
	}
	if (status == PREDLOG_DESC_STS_DROPPED)
		return -ENOSPC;

	if ((status & ~0xffu) == PREDLOG_DESC_STS_ERROR(0)) {
		err = status & 0xff;
		dev_warn_ratelimited(&pd->pdev->dev,
				     "record rejected: error %u (%s)\n",
				     err, predlog_err_name(err));
		/*
		 * ERROR keeps only the first error; clear it so that the next
		 * problem is visible there too.
		 */
		predlog_write_reg(pd, PREDLOG_REG_ERROR, 0);
	} else {
		dev_warn_ratelimited(&pd->pdev->dev,
				     "undocumented descriptor status 0x%x\n",
				     status);
	}
	return -EIO;
}

/*
 * The result of the write of descriptor @idx, submitted to ring generation
 * @gen, once its wait is over (@t from wait_event_interruptible_timeout()).
 */
static ssize_t predlog_finish(struct predlog_dev *pd, struct predlog_file *pf,
			      u32 idx, u32 gen, size_t len, long t)
{
	int ret;

	lockdep_assert_held(&pd->lock);
	/* Refreshing the head may reset the ring: check gen again after it */
	if (gen == pd->ring_gen && !pd->broken && predlog_refresh_head(pd) &&
	    gen == pd->ring_gen && predlog_consumed(pd, idx)) {
		if (t == 0)
			dev_warn_ratelimited(&pd->pdev->dev,
					     "completion interrupt missed\n");
		return predlog_collect(pd, pf, idx, len);
	}
	if (gen == pd->ring_gen) {
		if (pd->broken)
			return -EIO;
		/*
		 * The record is in flight and may still be logged, so
		 * restarting the call could log it twice.
		 */
		if (t < 0)
			return -EINTR;
		ret = predlog_timed_out(pd);
		if (ret)
			return ret;
		/* The ring was reset now, with this descriptor in flight */
	}
	/* The ring was reset since we submitted; it may have completed first */
	if (pd->slots[idx & (pd->ring_size - 1)].aborted)
		return -EIO;
	return predlog_collect(pd, pf, idx, len);
}

static ssize_t predlog_fop_write(struct file *file, const char __user *ubuf,
				 size_t len, loff_t *ppos)
{
	struct predlog_file *pf = file->private_data;
	struct predlog_dev *pd = pf->pd;
	struct predlog_slot *slot;
	struct predlog_desc *d;
	ssize_t ret;
	u32 idx, gen;
	long t;

	if (len == 0)
		return -EINVAL;
	if (len > pd->max_record)
		return -EMSGSIZE;

	if (mutex_lock_interruptible(&pd->submit_lock))
		return -ERESTARTSYS;
retry:
	ret = predlog_wait_space(pd, file->f_flags & O_NONBLOCK, &idx, &gen);
	if (ret) {
		mutex_unlock(&pd->submit_lock);
		return ret;
	}

	/*
	 * The slot is ours: consumed, collected, and only the holder of
	 * submit_lock fills slots.  remove() takes submit_lock before it
	 * frees the buffers, so they exist while we copy.  A ring reset
	 * (which needs only the spinlock) may renumber the ring meanwhile;
	 * then we start over.
	 */
	slot = &pd->slots[idx & (pd->ring_size - 1)];
	if (copy_from_user(slot->buf, ubuf, len)) {
		mutex_unlock(&pd->submit_lock);
		return -EFAULT;
	}

	spin_lock(&pd->lock);
	if (pd->dead || pd->broken) {
		ret = pd->dead ? -ENODEV : -EIO;
		spin_unlock(&pd->lock);
		mutex_unlock(&pd->submit_lock);
		return ret;
	}
	if (gen != pd->ring_gen) {
		spin_unlock(&pd->lock);
		goto retry;
	}
	d = &pd->ring[idx & (pd->ring_size - 1)];
	d->addr = cpu_to_le64(slot->dma);
	d->len = cpu_to_le32(len);
	d->func = cpu_to_le16(READ_ONCE(pf->func));
	d->severity = READ_ONCE(pf->severity);
	d->flags = 0;
	d->timestamp = cpu_to_le64(ktime_get_real_ns());
	d->seq = 0;
	WRITE_ONCE(d->status, cpu_to_le32(PREDLOG_DESC_STS_PENDING));
	slot->waiting = true;
	slot->aborted = false;
	pd->prod = idx + 1;
	/*
	 * writel() orders the descriptor and payload stores above before the
	 * doorbell reaches the device, so no explicit dma_wmb() is needed.
	 */
	predlog_write_reg(pd, PREDLOG_REG_DOORBELL, pd->prod);
	spin_unlock(&pd->lock);
	mutex_unlock(&pd->submit_lock);

	t = wait_event_interruptible_timeout(pd->wq,
					     predlog_done(pd, idx, gen),
					     predlog_timeout());

	spin_lock(&pd->lock);
	if (pd->dead) {
		/* The ring memory is gone; do not touch the slot */
		ret = -ENODEV;
	} else {
		ret = predlog_finish(pd, pf, idx, gen, len, t);
		/*
		 * Give the slot up.  If the device has not consumed it yet,
		 * predlog_slot_free_locked() keeps it until it does.
		 */
		slot->waiting = false;
	}
	spin_unlock(&pd->lock);
	/* A slot may have become free for a waiting submitter */
	wake_up(&pd->wq);
	return ret;
}

static long predlog_fop_ioctl(struct file *file, unsigned int cmd,
			      unsigned long arg)
{
	struct predlog_file *pf = file->private_data;
	struct predlog_dev *pd = pf->pd;
	void __user *uarg = (void __user *)arg;
	struct predlog_info info;
	bool has_seq;
	u32 val;

	switch (cmd) {
	case PREDLOG_IOC_SET_FUNCTION:
		if (get_user(val, (u32 __user *)uarg))
			return -EFAULT;
		if (val >= pd->num_funcs)
			return -EINVAL;
		WRITE_ONCE(pf->func, val);
		return 0;
	case PREDLOG_IOC_SET_SEVERITY:
		if (get_user(val, (u32 __user *)uarg))
			return -EFAULT;
		if (val > PREDLOG_SEVERITY_MAX)
			return -EINVAL;
		WRITE_ONCE(pf->severity, val);
		return 0;
	case PREDLOG_IOC_LAST_SEQ:
		spin_lock(&pd->lock);
		has_seq = pf->has_seq;
		val = pf->last_seq;
		spin_unlock(&pd->lock);
		if (!has_seq)
			return -ENODATA;
		return put_user(val, (u32 __user *)uarg);
	case PREDLOG_IOC_GET_INFO:
		memset(&info, 0, sizeof(info));
		info.num_funcs = pd->num_funcs;
		info.max_record = pd->max_record;
		info.max_payload = pd->max_payload;
		info.ring_size = pd->ring_size;
		info.version = pd->version;
		info.caps = pd->caps;
		return copy_to_user(uarg, &info, sizeof(info)) ? -EFAULT : 0;
	default:
		return -ENOTTY;
	}
}

static int predlog_fop_open(struct inode *inode, struct file *file)
{
	/* misc_open() set private_data to our miscdevice, under misc_mtx */
	struct predlog_dev *pd = container_of(file->private_data,
					      struct predlog_dev, misc);
	struct predlog_file *pf;

	pf = kzalloc(sizeof(*pf), GFP_KERNEL);
	if (!pf)
		return -ENOMEM;
	pf->pd = pd;
	pf->func = 0;
	pf->severity = PREDLOG_DEFAULT_SEVERITY;
	/*
	 * remove() deregisters the misc device, under misc_mtx, before it
	 * drops its reference, so pd is alive here.
	 */
	kref_get(&pd->ref);
	file->private_data = pf;
	return nonseekable_open(inode, file);
}

static int predlog_fop_release(struct inode *inode, struct file *file)
{
	struct predlog_file *pf = file->private_data;

	kref_put(&pf->pd->ref, predlog_free_dev);
	kfree(pf);
	return 0;
}

static const struct file_operations predlog_fops = {
	.owner = THIS_MODULE,
	.open = predlog_fop_open,
	.release = predlog_fop_release,
	.write = predlog_fop_write,
	.unlocked_ioctl = predlog_fop_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.llseek = no_llseek,
};

/* --- sysfs: /sys/class/misc/predlogN/ --------------------------------- */

static struct predlog_dev *predlog_from_dev(struct device *dev)
{
	/* misc_register() makes the miscdevice the class device's drvdata */
	struct miscdevice *misc = dev_get_drvdata(dev);

	return container_of(misc, struct predlog_dev, misc);
}

#define PREDLOG_ATTR_U64(field)						\
static ssize_t field##_show(struct device *dev,				\
			    struct device_attribute *attr, char *buf)	\
{									\
	struct predlog_dev *pd = predlog_from_dev(dev);			\
	u64 v;								\
									\
	spin_lock(&pd->lock);						\
	v = pd->field;							\
	spin_unlock(&pd->lock);						\
	return sysfs_emit(buf, "%llu\n", v);				\
}									\
static DEVICE_ATTR_RO(field)

PREDLOG_ATTR_U64(records);
PREDLOG_ATTR_U64(dropped);
PREDLOG_ATTR_U64(rejected);
PREDLOG_ATTR_U64(timeouts);
PREDLOG_ATTR_U64(ring_resets);
PREDLOG_ATTR_U64(last_seq);
PREDLOG_ATTR_U64(num_funcs);
PREDLOG_ATTR_U64(max_record);
PREDLOG_ATTR_U64(max_payload);
PREDLOG_ATTR_U64(ring_size);

static ssize_t pressure_events_show(struct device *dev,
				    struct device_attribute *attr, char *buf)
{
	struct predlog_dev *pd = predlog_from_dev(dev);

	return sysfs_emit(buf, "%lld\n",
			  (long long)atomic64_read(&pd->pressure_events));
}
static DEVICE_ATTR_RO(pressure_events);

static ssize_t pool_used_show(struct device *dev,
			      struct device_attribute *attr, char *buf)
{
	struct predlog_dev *pd = predlog_from_dev(dev);
	u32 v = 0;
	bool ok;

	spin_lock(&pd->lock);
	ok = !pd->dead;
	if (ok)
		v = predlog_read(pd, PREDLOG_REG_POOL_USED);
	spin_unlock(&pd->lock);
	if (!ok)
		return -ENODEV;
	return sysfs_emit(buf, "%u\n", v);
}
static DEVICE_ATTR_RO(pool_used);

static ssize_t state_show(struct device *dev, struct device_attribute *attr,
			  char *buf)
{
	struct predlog_dev *pd = predlog_from_dev(dev);
	const char *s;

	spin_lock(&pd->lock);
	s = pd->dead ? "dead" : pd->broken ? "broken" : "running";
	spin_unlock(&pd->lock);
	return sysfs_emit(buf, "%s\n", s);
}
static DEVICE_ATTR_RO(state);

static struct attribute *predlog_attrs[] = {
	&dev_attr_records.attr,
	&dev_attr_dropped.attr,
	&dev_attr_rejected.attr,
	&dev_attr_timeouts.attr,
	&dev_attr_ring_resets.attr,
	&dev_attr_last_seq.attr,
	&dev_attr_num_funcs.attr,
	&dev_attr_max_record.attr,
	&dev_attr_max_payload.attr,
	&dev_attr_ring_size.attr,
	&dev_attr_pressure_events.attr,
	&dev_attr_pool_used.attr,
	&dev_attr_state.attr,
	NULL,
};
ATTRIBUTE_GROUPS(predlog);

/* --- interrupts ------------------------------------------------------- */

static irqreturn_t predlog_completion_irq(int irq, void *data)
{
	struct predlog_dev *pd = data;

	/* The waiters read RING_HEAD themselves; just wake them */
	wake_up(&pd->wq);
	return IRQ_HANDLED;
}

static irqreturn_t predlog_pressure_irq(int irq, void *data)
{
	struct predlog_dev *pd = data;

	atomic64_inc(&pd->pressure_events);
	/* free_irq() runs before the registers are unmapped */
	dev_warn_ratelimited(&pd->pdev->dev, "pool pressure: %u%% used\n",
			     predlog_read(pd, PREDLOG_REG_POOL_USED));
	return IRQ_HANDLED;
}

/* --- probe / remove --------------------------------------------------- */

static void predlog_free_buffers(struct predlog_dev *pd)
{
	struct device *dev = &pd->pdev->dev;
	u32 i;

	if (pd->slots) {
		for (i = 0; i < pd->ring_size; i++) {
			if (pd->slots[i].buf)
				dma_free_coherent(dev, pd->max_record,
						  pd->slots[i].buf,
						  pd->slots[i].dma);
			pd->slots[i].buf = NULL;
		}
	}
	if (pd->ring)
		dma_free_coherent(dev, (size_t)pd->ring_size * sizeof(*pd->ring),
				  pd->ring, pd->ring_dma);
	pd->ring = NULL;
}

static int predlog_alloc_buffers(struct predlog_dev *pd)
{
	struct device *dev = &pd->pdev->dev;
	u32 i;

	pd->slots = kcalloc(pd->ring_size, sizeof(*pd->slots), GFP_KERNEL);
	if (!pd->slots)
		return -ENOMEM;
	pd->ring = dma_alloc_coherent(dev,
				      (size_t)pd->ring_size * sizeof(*pd->ring),
				      &pd->ring_dma, GFP_KERNEL);
	if (!pd->ring)
		return -ENOMEM;
	/* Coherent memory is page aligned; check rather than assume */
	if (!IS_ALIGNED(pd->ring_dma, PREDLOG_RING_ALIGN)) {
		dev_err(dev, "ring at %pad is not %d-byte aligned\n",
			&pd->ring_dma, PREDLOG_RING_ALIGN);
		return -ENOMEM;
	}
	for (i = 0; i < pd->ring_size; i++) {
		pd->slots[i].buf = dma_alloc_coherent(dev, pd->max_record,
						      &pd->slots[i].dma,
						      GFP_KERNEL);
		if (!pd->slots[i].buf)
			return -ENOMEM;
	}
	return 0;
}

/* Read and check the identity registers; fills pd's read-only fields. */
static int predlog_check_device(struct predlog_dev *pd)
{
	struct device *dev = &pd->pdev->dev;
	u32 magic, vectors;

	magic = predlog_read(pd, PREDLOG_REG_MAGIC);
	if (magic != PREDLOG_MAGIC) {
		dev_err(dev, "bad magic 0x%08x (expected 0x%08x \"PRLG\")\n",
			magic, PREDLOG_MAGIC);
		return -ENODEV;
	}
	pd->version = predlog_read(pd, PREDLOG_REG_VERSION);
	pd->caps = predlog_read(pd, PREDLOG_REG_CAPS);
	if (pd->version >> 16 != PREDLOG_VERSION_MAJOR) {
		dev_err(dev, "unsupported interface version %u.%u (driver speaks %d.x)\n",
			pd->version >> 16, pd->version & 0xffff,
			PREDLOG_VERSION_MAJOR);
		return -ENODEV;
	}
	if (!(pd->caps & PREDLOG_CAP_RING)) {
		dev_err(dev, "interface %u.%u without a descriptor ring (CAPS=0x%x); this driver needs interface 1.1 with CAP_RING\n",
			pd->version >> 16, pd->version & 0xffff, pd->caps);
		return -ENODEV;
	}
	vectors = predlog_read(pd, PREDLOG_REG_NUM_VECTORS);
	if (vectors < PREDLOG_MIN_VECTORS || vectors > PREDLOG_MAX_VECTORS) {
		dev_err(dev, "NUM_VECTORS=%u is outside %d..%d\n", vectors,
			PREDLOG_MIN_VECTORS, PREDLOG_MAX_VECTORS);
		return -ENODEV;
	}
	pd->num_funcs = predlog_read(pd, PREDLOG_REG_NUM_FUNCS);
	/* Function ids travel in a 16-bit descriptor field */
	if (pd->num_funcs < 1 || pd->num_funcs > U16_MAX + 1) {
		dev_err(dev, "NUM_FUNCS=%u is outside 1..%u\n", pd->num_funcs,
			U16_MAX + 1);
		return -ENODEV;
	}
	pd->max_payload = predlog_read(pd, PREDLOG_REG_MAX_PAYLOAD);
	if (pd->max_payload < 1) {
		dev_err(dev, "MAX_PAYLOAD is 0\n");
		return -ENODEV;
	}
	/* predlog_init() checked the parameters, which are read-only */
	pd->max_record = min_t(u32, pd->max_payload, max_record);
	pd->ring_size = ring_entries;
	return 0;
}

static int predlog_start_ring(struct predlog_dev *pd)
{
	/*
	 * Start from a known register state whatever a previous driver (or a
	 * kexec'd kernel) left behind; RESET keeps BARs and MSI-X.
	 */
	predlog_write_reg(pd, PREDLOG_REG_CONTROL, PREDLOG_CTRL_RESET);
	return predlog_program_ring(pd);
}

/* Stop the device using our memory; idempotent.  Callers then wake waiters. */
static void predlog_quiesce(struct predlog_dev *pd)
{
	spin_lock(&pd->lock);
	if (!pd->dead) {
		pd->dead = true;
		predlog_write_reg(pd, PREDLOG_REG_CONTROL, 0);
		/* Flush the posted write: no DMA after this returns */
		predlog_read(pd, PREDLOG_REG_STATUS);
	}
	spin_unlock(&pd->lock);
	wake_up_all(&pd->wq);
}

static void predlog_free_irqs(struct predlog_dev *pd)
{
	free_irq(pci_irq_vector(pd->pdev, PREDLOG_VEC_PRESSURE), pd);
	free_irq(pci_irq_vector(pd->pdev, PREDLOG_VEC_COMPLETION), pd);
	pci_free_irq_vectors(pd->pdev);
}

static int predlog_setup_irqs(struct predlog_dev *pd)
{
	struct pci_dev *pdev = pd->pdev;
	int ret;

	/* Both vectors or nothing: the device has no INTx pin */
	ret = pci_alloc_irq_vectors(pdev, PREDLOG_MIN_VECTORS,
				    PREDLOG_MIN_VECTORS, PCI_IRQ_MSIX);
	if (ret < 0) {
		dev_err(&pdev->dev, "cannot enable MSI-X: %d\n", ret);
		return ret;
	}
	snprintf(pd->irq_names[0], sizeof(pd->irq_names[0]), "%s-completion",
		 pd->name);
	snprintf(pd->irq_names[1], sizeof(pd->irq_names[1]), "%s-pressure",
		 pd->name);
	ret = request_irq(pci_irq_vector(pdev, PREDLOG_VEC_COMPLETION),
			  predlog_completion_irq, 0, pd->irq_names[0], pd);
	if (ret)
		goto err_vectors;
	ret = request_irq(pci_irq_vector(pdev, PREDLOG_VEC_PRESSURE),
			  predlog_pressure_irq, 0, pd->irq_names[1], pd);
	if (ret)
		goto err_completion;
	return 0;

err_completion:
	free_irq(pci_irq_vector(pdev, PREDLOG_VEC_COMPLETION), pd);
err_vectors:
	pci_free_irq_vectors(pdev);
	dev_err(&pdev->dev, "cannot request interrupts: %d\n", ret);
	return ret;
}

static int predlog_probe(struct pci_dev *pdev, const struct pci_device_id *id)
{
	struct predlog_dev *pd;
	int ret;

	pd = kzalloc(sizeof(*pd), GFP_KERNEL);
	if (!pd)
		return -ENOMEM;
	kref_init(&pd->ref);
	pd->pdev = pdev;
	mutex_init(&pd->submit_lock);
	spin_lock_init(&pd->lock);
	init_waitqueue_head(&pd->wq);
	atomic64_set(&pd->pressure_events, 0);

	ret = ida_alloc(&predlog_ida, GFP_KERNEL);
	if (ret < 0)
		goto err_free;
	pd->id = ret;
	snprintf(pd->name, sizeof(pd->name), DRV_NAME "%d", pd->id);

	ret = pci_enable_device_mem(pdev);
	if (ret) {
		dev_err(&pdev->dev, "cannot enable device: %d\n", ret);
		goto err_ida;
	}
	if (!(pci_resource_flags(pdev, PREDLOG_BAR_REGS) & IORESOURCE_MEM) ||
	    pci_resource_len(pdev, PREDLOG_BAR_REGS) < PREDLOG_REGS_SIZE) {
		dev_err(&pdev->dev, "BAR%d is not a %d-byte memory BAR\n",
			PREDLOG_BAR_REGS, PREDLOG_REGS_SIZE);
		ret = -ENODEV;
		goto err_disable;
	}
	ret = pci_request_region(pdev, PREDLOG_BAR_REGS, DRV_NAME);
	if (ret)
		goto err_disable;
	pd->regs = pci_iomap(pdev, PREDLOG_BAR_REGS, PREDLOG_REGS_SIZE);
	if (!pd->regs) {
		ret = -ENOMEM;
		goto err_region;
	}

	ret = predlog_check_device(pd);
	if (ret)
		goto err_unmap;

	ret = dma_set_mask_and_coherent(&pdev->dev, DMA_BIT_MASK(64));
	if (ret)
		ret = dma_set_mask_and_coherent(&pdev->dev, DMA_BIT_MASK(32));
	if (ret) {
		dev_err(&pdev->dev, "no usable DMA mask\n");
		goto err_unmap;
	}
	pci_set_master(pdev);

	ret = predlog_alloc_buffers(pd);
	if (ret) {
		dev_err(&pdev->dev, "cannot allocate the ring (%u x %u bytes)\n",
			pd->ring_size, pd->max_record);
		goto err_buffers;
	}

	/* Interrupts before the ring: completions may follow at once */
	ret = predlog_setup_irqs(pd);
	if (ret)
		goto err_buffers;

	ret = predlog_start_ring(pd);
	if (ret)
		goto err_stop;

	pci_set_drvdata(pdev, pd);
	pd->misc.minor = MISC_DYNAMIC_MINOR;
	pd->misc.name = pd->name;
	pd->misc.fops = &predlog_fops;
	pd->misc.parent = &pdev->dev;
	pd->misc.groups = predlog_groups;
	ret = misc_register(&pd->misc);
	if (ret) {
		dev_err(&pdev->dev, "cannot register /dev/%s: %d\n", pd->name,
			ret);
		goto err_stop;
	}

	dev_info(&pdev->dev,
		 "/dev/%s: interface %u.%u, %u functions, ring %u, records up to %u bytes\n",
		 pd->name, pd->version >> 16, pd->version & 0xffff,
		 pd->num_funcs, pd->ring_size, pd->max_record);
	return 0;

err_stop:
	predlog_quiesce(pd);
	predlog_free_irqs(pd);
err_buffers:
	predlog_free_buffers(pd);
	pci_clear_master(pdev);
err_unmap:
	pci_iounmap(pdev, pd->regs);
err_region:
	pci_release_region(pdev, PREDLOG_BAR_REGS);
err_disable:
	pci_disable_device(pdev);
err_ida:
	ida_free(&predlog_ida, pd->id);
err_free:
	kref_put(&pd->ref, predlog_free_dev);
	return ret;
}

static void predlog_remove(struct pci_dev *pdev)
{
	struct predlog_dev *pd = pci_get_drvdata(pdev);

	/* No new opens after this; open files keep pd alive via ref */
	misc_deregister(&pd->misc);
	predlog_quiesce(pd);
	predlog_free_irqs(pd);

	/*
	 * A submitter may be copying into a slot buffer; it holds
	 * submit_lock and will see "dead" next.  Waiters never touch the
	 * ring once dead is set.
	 */
	mutex_lock(&pd->submit_lock);
	predlog_free_buffers(pd);
	mutex_unlock(&pd->submit_lock);

	pci_clear_master(pdev);
	pci_iounmap(pdev, pd->regs);
	pci_release_region(pdev, PREDLOG_BAR_REGS);
	pci_disable_device(pdev);
	ida_free(&predlog_ida, pd->id);
	kref_put(&pd->ref, predlog_free_dev);
}

/* Reboot/kexec: the next kernel must not find the device writing to RAM */
static void predlog_shutdown(struct pci_dev *pdev)
{
	struct predlog_dev *pd = pci_get_drvdata(pdev);

	if (pd)
		predlog_quiesce(pd);
}

static const struct pci_device_id predlog_ids[] = {
	{ PCI_DEVICE(PREDLOG_PCI_VENDOR_ID, PREDLOG_PCI_DEVICE_ID) },
	{ }
};
MODULE_DEVICE_TABLE(pci, predlog_ids);

static struct pci_driver predlog_driver = {
	.name = DRV_NAME,
	.id_table = predlog_ids,
	.probe = predlog_probe,
	.remove = predlog_remove,
	.shutdown = predlog_shutdown,
};

static int __init predlog_init(void)
{
	/* Refuse bad parameters at insmod rather than once per device */
	if (ring_entries < PREDLOG_RING_MIN_SIZE ||
	    ring_entries > PREDLOG_RING_MAX_SIZE ||
	    !is_power_of_2(ring_entries)) {
		pr_err(DRV_NAME ": ring_entries=%u must be a power of two in %d..%d\n",
		       ring_entries, PREDLOG_RING_MIN_SIZE,
		       PREDLOG_RING_MAX_SIZE);
		return -EINVAL;
	}
	if (max_record < 1) {
		pr_err(DRV_NAME ": max_record must be at least 1\n");
		return -EINVAL;
	}
	return pci_register_driver(&predlog_driver);
}
module_init(predlog_init);

static void __exit predlog_exit(void)
{
	pci_unregister_driver(&predlog_driver);
}
module_exit(predlog_exit);

MODULE_DESCRIPTION("predlog flight-recorder device: guest record ring");
MODULE_AUTHOR("The predlog authors");
MODULE_LICENSE("GPL");
