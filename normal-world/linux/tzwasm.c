// SPDX-License-Identifier: GPL-2.0
/*
 * tzwasm.ko: the Linux side of tzwasm, a WebAssembly runtime in the TrustZone secure world.
 *
 * /dev/tzwasm is a misc device. Every open file is one session with the secure world: on
 * TZWASM_IOC_SETUP the driver allocates physically contiguous zeroed pages, registers them
 * with the secure world (SHM_REGISTER, physical address taken from the kernel only) and opens
 * a session (SESSION_OPEN). The process maps the pages with mmap() and issues tzwasm calls for
 * that session with TZWASM_IOC_CALL; the driver only lets through tzwasm's own per-session
 * calls and substitutes its own session and shared-memory handles. Long calls (LOAD, RUN,
 * RESUME) are continued in the kernel while the secure world answers INTERRUPTED; a pending
 * signal cancels the run (or abandons the LOAD). release() cancels, closes the session, unregisters and frees the pages.
 *
 * Fair use among local users: the sessions each uid holds and the sum of their heap quotas
 * are bounded (module parameters max_sessions_per_uid and max_quota_per_uid), charged at
 * SETUP and given back when the file is released; the node's mode is the parameter mode.
 *
 * The protocol is docs/protocol.md; this interface is docs/driver.md and tzwasm_ioctl.h.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/arm-smccc.h>
#include <linux/capability.h>
#include <linux/cred.h>
#include <linux/ctype.h>
#include <linux/delay.h>
#include <linux/fs.h>
#include <linux/gfp.h>
#include <linux/jiffies.h>
#include <linux/kernel.h>
#include <linux/math64.h>
#include <linux/miscdevice.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/mutex.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uaccess.h>
#include <linux/uidgid.h>

#include <linux/version.h>

#include "tzwasm_ioctl.h"

#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 3, 0)
static inline void vm_flags_set(struct vm_area_struct *vma, vm_flags_t flags)
{
	vma->vm_flags |= flags;
}

static inline void vm_flags_clear(struct vm_area_struct *vma, vm_flags_t flags)
{
	vma->vm_flags &= ~flags;
}
#endif

#define TZWASM_FN_REVISION 0xBF00FF03u
#define TZWASM_PROTOCOL_MAJOR 1

/*
 * How long release() keeps retrying a call the secure world answers BUSY (another CPU is
 * inside a session call), in 10 ms steps.
 */
#define TZWASM_BUSY_RETRIES 3000

/*
 * A run that keeps being interrupted is handed back to userspace (as INTERRUPTED) this often,
 * so that the caller drains the output ring while the module runs: output appears as it is
 * written, not only when the ring is full or the run ends.
 */
#define TZWASM_DRAIN_INTERVAL (HZ / 10)

/*
 * Per-uid accounting (docs/driver.md, "Fair use"). A slot is in use while its uid holds at
 * least one charged session; there are TZWASM_MAX_UIDS slots, so the table is bounded and a
 * SETUP that would need one more uid is refused (EUSERS).
 */
#define TZWASM_MAX_UIDS 64

struct tzwasm_uid_use {
	kuid_t uid;
	unsigned int sessions;	/* 0: the slot is free */
	u64 quota;		/* sum of the heap quotas of those sessions */
};

static struct tzwasm_uid_use tzwasm_uids[TZWASM_MAX_UIDS];
static DEFINE_MUTEX(tzwasm_uids_lock);	/* guards tzwasm_uids */

/* The secure pool's size in bytes (GET_INFO POOL at probe): the base of a percentage quota. */
static u64 tzwasm_pool_size;

/*
 * Module parameters. max_sessions_per_uid and max_quota_per_uid may be changed at runtime
 * (/sys/module/tzwasm/parameters, root only); a lower value refuses new sessions and leaves
 * open ones alone. mode is read at load time only (chmod the node to change it later).
 */
static unsigned int max_sessions_per_uid = 8;
module_param(max_sessions_per_uid, uint, 0644);
MODULE_PARM_DESC(max_sessions_per_uid,
		 "Sessions (open files past SETUP) one uid may hold at once; CAP_SYS_ADMIN is exempt (default 8)");

/* Bytes, or a percentage of the secure pool when TZWASM_QUOTA_PERCENT is set. */
#define TZWASM_QUOTA_PERCENT BIT_ULL(63)
static u64 max_quota_per_uid = TZWASM_QUOTA_PERCENT | 75;

static int tzwasm_quota_param_set(const char *val, const struct kernel_param *kp)
{
	char buf[32];
	char *str, *end;
	size_t len;
	u64 v;

	if (strscpy(buf, val, sizeof(buf)) < 0)
		return -EINVAL;
	str = strim(buf);
	len = strlen(str);
	if (len > 1 && str[len - 1] == '%') {
		str[len - 1] = '\0';
		if (kstrtou64(str, 10, &v) || v < 1 || v > 100)
			return -EINVAL;
		v |= TZWASM_QUOTA_PERCENT;
	} else {
		if (!len || !isdigit(str[0]))
			return -EINVAL;
		v = memparse(str, &end);
		if (*end || v == 0 || v >= TZWASM_QUOTA_PERCENT)
			return -EINVAL;
	}
	WRITE_ONCE(*(u64 *)kp->arg, v);
	return 0;
}

static int tzwasm_quota_param_get(char *buffer, const struct kernel_param *kp)
{
	u64 v = READ_ONCE(*(u64 *)kp->arg);

	if (v & TZWASM_QUOTA_PERCENT)
		return scnprintf(buffer, PAGE_SIZE, "%llu%%\n", v & ~TZWASM_QUOTA_PERCENT);
	return scnprintf(buffer, PAGE_SIZE, "%llu\n", v);
}

static const struct kernel_param_ops tzwasm_quota_param_ops = {
	.set = tzwasm_quota_param_set,
	.get = tzwasm_quota_param_get,
};
module_param_cb(max_quota_per_uid, &tzwasm_quota_param_ops, &max_quota_per_uid, 0644);
MODULE_PARM_DESC(max_quota_per_uid,
		 "Sum of the heap quotas of one uid's sessions: bytes (K/M/G suffixes) or N% of the secure pool; CAP_SYS_ADMIN is exempt (default 75%)");

/* The device node's permission bits, octal as chmod takes them (0600, 660, ...). */
static umode_t tzwasm_mode = 0666;

static int tzwasm_mode_param_set(const char *val, const struct kernel_param *kp)
{
	u16 v;

	if (kstrtou16(val, 8, &v) || (v & ~0777))
		return -EINVAL;
	*(umode_t *)kp->arg = v;
	return 0;
}

static int tzwasm_mode_param_get(char *buffer, const struct kernel_param *kp)
{
	return scnprintf(buffer, PAGE_SIZE, "%04o\n", *(umode_t *)kp->arg);
}

static const struct kernel_param_ops tzwasm_mode_param_ops = {
	.set = tzwasm_mode_param_set,
	.get = tzwasm_mode_param_get,
};
module_param_cb(mode, &tzwasm_mode_param_ops, &tzwasm_mode, 0444);
MODULE_PARM_DESC(mode, "Permission bits of /dev/tzwasm, octal (default 0666: every local user may run modules, within the per-uid limits)");

/* The per-uid quota limit in bytes now. */
static u64 tzwasm_quota_limit(void)
{
	u64 v = READ_ONCE(max_quota_per_uid);

	if (v & TZWASM_QUOTA_PERCENT)
		return mul_u64_u32_div(tzwasm_pool_size, (u32)(v & ~TZWASM_QUOTA_PERCENT), 100);
	return v;
}

/* One open file of /dev/tzwasm. */
struct tzwasm_file {
	struct mutex lock;	/* serialises SETUP, CALL and mmap on this file */
	bool ready;		/* SETUP succeeded: the fields below are valid */
	void *shm;		/* kernel address of the shared pages */
	size_t shm_size;
	u64 shm_handle;
	u64 session;
	kuid_t uid;		/* the opener's euid, charged for the session */
	bool exempt;		/* the opener had CAP_SYS_ADMIN: nothing is charged */
	struct tzwasm_uid_use *use;	/* the slot charged, or NULL */
	u64 charged_quota;	/* what was added to use->quota */
};

/*
 * Charges one session with heap quota `quota` to the file's uid, or refuses: -EMFILE (the uid
 * holds max_sessions_per_uid sessions), -EDQUOT (its quotas would exceed max_quota_per_uid),
 * -EUSERS (TZWASM_MAX_UIDS other uids hold sessions). *limit is then the limit that applied.
 */
static int tzwasm_charge(struct tzwasm_file *tf, u64 quota, u64 *limit)
{
	unsigned int max_sessions = READ_ONCE(max_sessions_per_uid);
	u64 max_quota = tzwasm_quota_limit();
	struct tzwasm_uid_use *u = NULL, *spare = NULL;
	int i, err = 0;

	if (tf->exempt)
		return 0;
	mutex_lock(&tzwasm_uids_lock);
	for (i = 0; i < TZWASM_MAX_UIDS; i++) {
		struct tzwasm_uid_use *e = &tzwasm_uids[i];

		if (e->sessions && uid_eq(e->uid, tf->uid)) {
			u = e;
			break;
		}
		if (!e->sessions && !spare)
			spare = e;
	}
	if (!u) {
		if (!spare) {
			err = -EUSERS;
			*limit = TZWASM_MAX_UIDS;
			goto out;
		}
		u = spare;	/* stays free (sessions 0) unless the charge succeeds */
		u->uid = tf->uid;
		u->quota = 0;
	}
	if (u->sessions >= max_sessions) {
		err = -EMFILE;
		*limit = max_sessions;
		goto out;
	}
	if (quota > max_quota || u->quota > max_quota - quota) {
		err = -EDQUOT;
		*limit = max_quota;
		goto out;
	}
	u->sessions++;
	u->quota += quota;
	tf->use = u;
	tf->charged_quota = quota;
out:
	mutex_unlock(&tzwasm_uids_lock);
	return err;
}

/* Gives back what tzwasm_charge() charged for this file (nothing if it charged nothing). */
static void tzwasm_uncharge(struct tzwasm_file *tf)
{
	struct tzwasm_uid_use *u = tf->use;

	if (!u)
		return;
	mutex_lock(&tzwasm_uids_lock);
	if (!WARN_ON_ONCE(!u->sessions || u->quota < tf->charged_quota)) {
		u->sessions--;
		u->quota -= tf->charged_quota;
	}
	mutex_unlock(&tzwasm_uids_lock);
	tf->use = NULL;
	tf->charged_quota = 0;
}

static void tzwasm_smc(const u64 regs[8], u64 ret[4])
{
	struct arm_smccc_res res;

	arm_smccc_smc(regs[0], regs[1], regs[2], regs[3], regs[4], regs[5], regs[6],
		      regs[7], &res);
	ret[0] = res.a0;
	ret[1] = res.a1;
	ret[2] = res.a2;
	ret[3] = res.a3;
}

/* One call with x1..x3 given, the rest zero. */
static s64 tzwasm_call3(u32 fn, u64 a1, u64 a2, u64 a3, u64 ret[4])
{
	u64 regs[8] = { fn, a1, a2, a3 };

	tzwasm_smc(regs, ret);
	return (s64)ret[0];
}

/*
 * A session/registration housekeeping call, retried while another CPU holds the secure
 * world's session table (BUSY). Used where giving up would leak secure-world state.
 */
static s64 tzwasm_call_retry(u32 fn, u64 a1, u64 ret[4])
{
	int tries = 0;
	s64 st;

	for (;;) {
		st = tzwasm_call3(fn, a1, 0, 0, ret);
		if (st != TZWASM_BUSY || ++tries >= TZWASM_BUSY_RETRIES)
			return st;
		msleep(10);
	}
}

static int tzwasm_status_errno(s64 st)
{
	switch (st) {
	case TZWASM_BUSY:
		return -EBUSY;
	case TZWASM_OUT_OF_MEMORY:
		return -ENOMEM;
	case TZWASM_NO_RESOURCES:
		return -ENOSPC;
	case TZWASM_QUOTA_TOO_SMALL:
	case TZWASM_QUOTA_TOO_LARGE:
	case TZWASM_INVALID_PARAMETER:
		return -EINVAL;
	default:
		return -EIO;
	}
}

/* Is this a call a process may issue for its own session, and how are its handles set? */
static bool tzwasm_call_allowed(u64 fn, bool *session, bool *shm)
{
	*session = false;
	*shm = false;
	switch (fn) {
	case TZWASM_FN_GET_INFO:
	case TZWASM_FN_NULL:
		return true;
	case TZWASM_FN_LOAD:
	case TZWASM_FN_RUN:
	case TZWASM_FN_ATTEST:
	case TZWASM_FN_RECEIPT:
		*shm = true;
		fallthrough;
	case TZWASM_FN_RESUME:
	case TZWASM_FN_CANCEL:
	case TZWASM_FN_UNLOAD:
	case TZWASM_FN_STATS:
		*session = true;
		return true;
	default:
		return false;
	}
}

static int tzwasm_open(struct inode *inode, struct file *filp)
{
	struct tzwasm_file *tf;

	tf = kzalloc(sizeof(*tf), GFP_KERNEL);
	if (!tf)
		return -ENOMEM;
	mutex_init(&tf->lock);
	/* Who pays: the opener, as the file's credentials recorded it. */
	tf->uid = filp->f_cred->euid;
	tf->exempt = file_ns_capable(filp, &init_user_ns, CAP_SYS_ADMIN);
	filp->private_data = tf;
	return nonseekable_open(inode, filp);
}

/*
 * Ends the session and the registration and frees the pages, as far as the secure world
 * lets it: pages it may still map are never given back to the kernel.
 */
static void tzwasm_teardown(struct tzwasm_file *tf)
{
	u64 ret[4];
	s64 st;

	if (!tf->ready)
		return;
	tf->ready = false;

	/* A run paused on OUTPUT_PENDING keeps the ring's registration busy. */
	st = tzwasm_call_retry(TZWASM_FN_CANCEL, tf->session, ret);
	if (st != TZWASM_SUCCESS && st != TZWASM_BAD_STATE)
		pr_warn("CANCEL of session %#llx: status %lld\n", tf->session, st);
	st = tzwasm_call_retry(TZWASM_FN_SESSION_CLOSE, tf->session, ret);
	if (st != TZWASM_SUCCESS)
		pr_err("SESSION_CLOSE of session %#llx: status %lld\n", tf->session, st);
	st = tzwasm_call_retry(TZWASM_FN_SHM_UNREGISTER, tf->shm_handle, ret);
	if (st != TZWASM_SUCCESS && st != TZWASM_NO_SUCH_HANDLE) {
		pr_err("SHM_UNREGISTER of %#llx: status %lld; leaking %zu bytes the secure world may still map\n",
		       tf->shm_handle, st, tf->shm_size);
		return;
	}
	free_pages_exact(tf->shm, tf->shm_size);
	tf->shm = NULL;
}

static int tzwasm_release(struct inode *inode, struct file *filp)
{
	struct tzwasm_file *tf = filp->private_data;

	tzwasm_teardown(tf);
	tzwasm_uncharge(tf);
	mutex_destroy(&tf->lock);
	kfree(tf);
	return 0;
}

static long tzwasm_ioc_setup(struct tzwasm_file *tf, void __user *argp)
{
	struct tzwasm_ioc_setup s;
	u64 ret[4];
	s64 st;
	long err;

	if (copy_from_user(&s, argp, sizeof(s)))
		return -EFAULT;
	s.status = 0;
	s.value = 0;
	s.session = 0;
	s.shm_handle = 0;
	if (tf->ready)
		return -EBUSY;
	if (!s.shm_size || !PAGE_ALIGNED(s.shm_size) || s.shm_size > TZWASM_SHM_MAX_SIZE)
		return -EINVAL;

	/* A per-uid limit refuses with status 0 and value = the limit. */
	err = tzwasm_charge(tf, s.quota, &s.value);
	if (err)
		goto out;

	tf->shm = alloc_pages_exact(s.shm_size, GFP_KERNEL | __GFP_ZERO);
	if (!tf->shm) {
		err = -ENOMEM;
		goto uncharge;
	}
	tf->shm_size = s.shm_size;

	st = tzwasm_call3(TZWASM_FN_SHM_REGISTER, virt_to_phys(tf->shm), tf->shm_size, 0, ret);
	if (st != TZWASM_SUCCESS) {
		s.status = st;
		s.value = ret[1];
		err = tzwasm_status_errno(st);
		goto free_pages;
	}
	tf->shm_handle = ret[1];

	st = tzwasm_call3(TZWASM_FN_SESSION_OPEN, s.quota, 0, 0, ret);
	if (st != TZWASM_SUCCESS) {
		s.status = st;
		s.value = ret[1];
		err = tzwasm_status_errno(st);
		goto unregister;
	}
	tf->session = ret[1];
	tf->ready = true;
	s.session = tf->session;
	s.shm_handle = tf->shm_handle;
	if (copy_to_user(argp, &s, sizeof(s)))
		return -EFAULT;	/* the session stays; release() ends it */
	return 0;

unregister:
	if (tzwasm_call_retry(TZWASM_FN_SHM_UNREGISTER, tf->shm_handle, ret) != TZWASM_SUCCESS) {
		pr_err("SHM_UNREGISTER of %#llx failed; leaking %zu bytes\n",
		       tf->shm_handle, tf->shm_size);
		tf->shm = NULL;
		goto uncharge;
	}
free_pages:
	free_pages_exact(tf->shm, tf->shm_size);
	tf->shm = NULL;
uncharge:
	tzwasm_uncharge(tf);
out:
	if (copy_to_user(argp, &s, sizeof(s)))
		return -EFAULT;
	return err;
}

static long tzwasm_ioc_call(struct tzwasm_file *tf, void __user *argp)
{
	struct tzwasm_ioc_call c;
	unsigned long start = jiffies;
	bool session, shm, resumed;
	long err = 0;
	u64 fn;

	if (copy_from_user(&c, argp, sizeof(c)))
		return -EFAULT;
	fn = c.regs[0];
	if (!tzwasm_call_allowed(fn, &session, &shm))
		return -EPERM;
	/*
	 * GET_INFO and NULL name no session or memory, so they work before SETUP too: a SETUP
	 * refused with FAILED is explained by GET_INFO FAILURE (docs/protocol.md, fail-stop).
	 */
	if (!tf->ready && (session || shm))
		return -ENODEV;
	if (session)
		c.regs[1] = tf->session;
	if (shm)
		c.regs[2] = tf->shm_handle;

	tzwasm_smc(c.regs, c.ret);
	if (fn != TZWASM_FN_RUN && fn != TZWASM_FN_RESUME && fn != TZWASM_FN_LOAD)
		goto out;
	/*
	 * The secure world saved the run's context (or an unfinished LOAD's progress) and left
	 * for a normal-world interrupt (taken as soon as the SMC returned). Let the scheduler in,
	 * then continue it, unless the caller has a signal to handle: then the run ends in the
	 * secure world (CANCEL also abandons an interrupted LOAD, freeing what it held).
	 * A RESUME of ours that finds another CPU in the secure world (BUSY) had no effect:
	 * the run is still paused, so it is simply issued again. Every TZWASM_DRAIN_INTERVAL
	 * the caller gets INTERRUPTED back, to drain the ring and RESUME.
	 */
	for (resumed = false;
	     (s64)c.ret[0] == TZWASM_INTERRUPTED || (resumed && (s64)c.ret[0] == TZWASM_BUSY);
	     resumed = true) {
		u64 resume[8] = { TZWASM_FN_RESUME, tf->session };

		if ((s64)c.ret[0] == TZWASM_BUSY)
			usleep_range(100, 1000);
		cond_resched();
		if (signal_pending(current)) {
			tzwasm_call_retry(TZWASM_FN_CANCEL, tf->session, c.ret);
			c.ret[0] = (u64)TZWASM_CANCELLED;
			err = -EINTR;
			break;
		}
		/* A LOAD has no ring to drain: it is continued here until it answers. */
		if ((s64)c.ret[0] == TZWASM_INTERRUPTED && fn != TZWASM_FN_LOAD &&
		    time_after(jiffies, start + TZWASM_DRAIN_INTERVAL))
			break;
		tzwasm_smc(resume, c.ret);
	}
out:
	if (copy_to_user(argp, &c, sizeof(c)))
		return -EFAULT;
	return err;
}

static long tzwasm_ioctl(struct file *filp, unsigned int cmd, unsigned long arg)
{
	struct tzwasm_file *tf = filp->private_data;
	void __user *argp = (void __user *)arg;
	long ret;

	if (mutex_lock_interruptible(&tf->lock))
		return -ERESTARTSYS;
	switch (cmd) {
	case TZWASM_IOC_SETUP:
		ret = tzwasm_ioc_setup(tf, argp);
		break;
	case TZWASM_IOC_CALL:
		ret = tzwasm_ioc_call(tf, argp);
		break;
	default:
		ret = -ENOTTY;
	}
	mutex_unlock(&tf->lock);
	return ret;
}

static int tzwasm_mmap(struct file *filp, struct vm_area_struct *vma)
{
	struct tzwasm_file *tf = filp->private_data;
	unsigned long len = vma->vm_end - vma->vm_start;
	int ret;

	if (!(vma->vm_flags & VM_SHARED) || (vma->vm_flags & VM_EXEC))
		return -EINVAL;
	mutex_lock(&tf->lock);
	if (!tf->ready) {
		ret = -ENODEV;
		goto out;
	}
	if (vma->vm_pgoff != 0 || len > tf->shm_size) {
		ret = -EINVAL;
		goto out;
	}
	/* Normal cacheable memory, as the secure world maps it (vm_page_prot is left alone). */
	vm_flags_set(vma, VM_DONTEXPAND | VM_DONTDUMP);
	vm_flags_clear(vma, VM_MAYEXEC);
	ret = remap_pfn_range(vma, vma->vm_start, virt_to_phys(tf->shm) >> PAGE_SHIFT, len,
			      vma->vm_page_prot);
out:
	mutex_unlock(&tf->lock);
	return ret;
}

static const struct file_operations tzwasm_fops = {
	.owner = THIS_MODULE,
	.open = tzwasm_open,
	.release = tzwasm_release,
	.unlocked_ioctl = tzwasm_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.mmap = tzwasm_mmap,
	.llseek = no_llseek,
};

static struct miscdevice tzwasm_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "tzwasm",
	.fops = &tzwasm_fops,
	/* .mode is set from the mode parameter in tzwasm_init() */
};

/* Is tzwasm the Trusted OS behind EL3, speaking a protocol major version we know? */
static int tzwasm_probe(void)
{
	u64 ret[4];

	if (arm_smccc_1_1_get_conduit() != SMCCC_CONDUIT_SMC) {
		pr_err("no SMC conduit to a secure world (firmware without PSCI over SMC); not loading\n");
		return -ENODEV;
	}
	tzwasm_call3(TZWASM_FN_CALL_UID, 0, 0, 0, ret);
	if ((u32)ret[0] != TZWASM_UID_W0 || (u32)ret[1] != TZWASM_UID_W1 ||
	    (u32)ret[2] != TZWASM_UID_W2 || (u32)ret[3] != TZWASM_UID_W3) {
		pr_err("the Trusted OS is not tzwasm (Call UID %08x %08x %08x %08x); not loading\n",
		       (u32)ret[0], (u32)ret[1], (u32)ret[2], (u32)ret[3]);
		return -ENODEV;
	}
	tzwasm_call3(TZWASM_FN_REVISION, 0, 0, 0, ret);
	if ((u32)ret[0] != TZWASM_PROTOCOL_MAJOR) {
		pr_err("tzwasm protocol %u.%u is not supported (need %u.x); not loading\n",
		       (u32)ret[0], (u32)ret[1], TZWASM_PROTOCOL_MAJOR);
		return -ENODEV;
	}
	pr_info("secure world found, protocol %u.%u\n", (u32)ret[0], (u32)ret[1]);
	/* The pool's size, the base of a percentage max_quota_per_uid. */
	if (tzwasm_call3(TZWASM_FN_GET_INFO, 1, 0, 0, ret) != TZWASM_SUCCESS || !ret[1] ||
	    ret[1] >= TZWASM_QUOTA_PERCENT) {
		pr_err("GET_INFO POOL failed (status %lld, size %llu); not loading\n",
		       (s64)ret[0], ret[1]);
		return -ENODEV;
	}
	tzwasm_pool_size = ret[1];
	return 0;
}

static int __init tzwasm_init(void)
{
	int ret;

	ret = tzwasm_probe();
	if (ret)
		return ret;
	tzwasm_misc.mode = tzwasm_mode;
	ret = misc_register(&tzwasm_misc);
	if (ret) {
		pr_err("cannot register /dev/tzwasm: %d\n", ret);
		return ret;
	}
	pr_info("/dev/tzwasm ready (shared memory up to %lu bytes per session)\n",
		TZWASM_SHM_MAX_SIZE);
	pr_info("/dev/tzwasm mode %04o; per uid at most %u sessions and %llu bytes of heap quota (of a %llu-byte pool); CAP_SYS_ADMIN exempt\n",
		tzwasm_mode, READ_ONCE(max_sessions_per_uid), tzwasm_quota_limit(),
		tzwasm_pool_size);
	return 0;
}

static void __exit tzwasm_exit(void)
{
	/* Every file is closed by now, so every session and registration is gone. */
	misc_deregister(&tzwasm_misc);
	pr_info("unloaded\n");
}

module_init(tzwasm_init);
module_exit(tzwasm_exit);

MODULE_LICENSE("GPL");
MODULE_AUTHOR("tzwasm developers");
MODULE_DESCRIPTION("tzwasm: run WebAssembly (WAMR AOT) modules in the TrustZone secure world");
