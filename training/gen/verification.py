"""VERIFICATION: one-time codes."""
from .common import family, APPS, EN_APPS, BANKS, TELCOS, GOV

L = "VERIFICATION"
PURPOSES = ["登录", "注册", "支付", "修改密码", "绑定银行卡", "实名认证", "找回密码", "更换手机号", "提现",
            "身份验证", "注销账号", "开通免密支付", "设置支付密码", "解绑设备", "修改登录密码", "绑定手机号"]
NAMES = ["验证码", "验证码", "验证码", "短信验证码", "校验码", "动态码", "安全码", "确认码"]
WARN = ["请勿泄露", "请勿泄露给他人", "请勿告诉他人", "切勿告知他人", "请勿转发", "请妥善保管",
        "请勿将验证码告知任何人", "打死也不要告诉别人哦", "请勿向任何人提供"]
IGNORE = ["如非本人操作请忽略", "如非本人操作，请忽略本短信", "若非本人操作，请忽略", "如非本人操作请忽略此短信",
          "非本人操作请忽略", "如非您本人操作，请忽略此消息"]


def minutes(r):
    return r.pick([1, 2, 3, 5, 5, 5, 10, 10, 15, 30])


def validity(r):
    m = minutes(r)
    return r.pick([f"{m}分钟内有效", f"有效期{m}分钟", f"{m}分钟内有效", f"请在{m}分钟内完成验证",
                   f"请于{m}分钟内填写", f"{m}分钟内输入有效"])


def tail_clauses(r, parts):
    r.shuffle(parts)
    parts = [p for p in parts if p]
    return "，".join(parts) + r.pick(["。", "。", "！", "", "。"])


@family(L, "ver_basic")
def basic(r):
    app, c, name = r.pick(APPS), r.code(4, 8), r.pick(NAMES)
    head = r.pick([f"您的{name}是{c}", f"您的{name}为：{c}", f"{name}：{c}", f"{name}{c}", f"您的{name}为{c}",
                   f"您本次的{name}是 {c} "]).strip()
    purpose = r.maybe(0.6, r.pick([f"用于{p}" for p in PURPOSES] + [f"您正在{p}"
                                                                  for p in PURPOSES]))
    body = head + "，" + tail_clauses(r, [purpose, validity(r), r.maybe(0.7, r.pick(WARN)),
                                        r.maybe(0.3, r.pick(IGNORE))])
    return r.vary(r.sig(app, body, 0.08))


@family(L, "ver_code_first")
def code_first(r):
    app, c = r.pick(APPS), r.code(4, 6)
    head = r.pick([f"{c}是你的{r.pick(NAMES)}", f"{c}是您的{app}{r.pick(NAMES)}", f"{c}（{app}{r.pick(NAMES)}）",
                   f"{c}为您的{r.pick(PURPOSES)}{r.pick(NAMES)}", f"{c} 是您本次{r.pick(PURPOSES)}的{r.pick(NAMES)}"])
    body = head + "，" + tail_clauses(r, [validity(r), r.maybe(0.8, r.pick(WARN)), r.maybe(0.3, r.pick(IGNORE))])
    return r.vary(r.sig(app, body, 0.12))


@family(L, "ver_bank_operation")
def bank_operation(r):
    bank, hot = r.pick(BANKS)
    c, t = r.code(6, 6), r.tail()
    op = r.pick(["快捷支付签约", "网上银行转账", "手机银行登录", "跨行转账", "绑定第三方支付", "修改交易密码",
                 "开通手机银行", "信用卡激活", "重置查询密码", "大额转账"])
    amt = r.maybe(0.4, f"，金额{r.amount(50, 50000)}元")
    head = r.pick([f"您尾号{t}的账户正在进行{op}{amt}，验证码{c}",
                   f"您正在进行{op}{amt}，动态密码为{c}",
                   f"您尾号{t}的卡{op}{amt}，短信验证码：{c}",
                   f"验证码{c}，您正在办理{op}{amt}（尾号{t}）"])
    warn = r.pick(["工作人员不会索取此验证码，切勿告知他人", "请勿泄露", f"如非本人操作请致电{hot}",
                   "任何人索要验证码都是诈骗", "银行工作人员不会向您索取，请勿泄露"])
    return r.vary(r.sig(bank, f"{head}，{validity(r)}，{warn}。", 0.05))


@family(L, "ver_register_welcome")
def register(r):
    app, c = r.pick(APPS), r.code(4, 6)
    body = r.pick([f"欢迎注册{app}，您的注册验证码为{c}",
                   f"感谢您注册{app}！验证码：{c}",
                   f"您正在注册成为{app}新用户，验证码{c}",
                   f"您正在申请注册{app}账号，本次验证码为{c}"])
    return r.vary(r.sig(app, body + "，" + tail_clauses(r, [validity(r), r.maybe(0.6, r.pick(WARN)),
                                                            r.maybe(0.5, r.pick(IGNORE))])))


@family(L, "ver_english", weight=0.5)
def english(r):
    app, c, m = r.pick(EN_APPS + ["腾讯云", "阿里云", "Trip.com"]), r.code(4, 8), minutes(r)
    body = r.pick([f"Your {app} verification code is {c}. It expires in {m} minutes.",
                   f"{c} is your {app} verification code. Do not share it with anyone.",
                   f"Your verification code is {c}, valid for {m} minutes. Do not share it.",
                   f"{app}: your security code is {c}. Never share this code.",
                   f"Use {c} to verify your {app} account. Valid for {m} min."])
    return r.sig(app, body, 0.15) if r.random() < 0.8 else f"[{app}] {body}"


@family(L, "ver_telecom_random_password", weight=0.6)
def telecom(r):
    tel, hot = r.pick(TELCOS)
    c = r.code(6, 6)
    biz = r.pick(["办理业务", "登录网上营业厅", "登录APP", "办理套餐变更", "查询详单", "补换卡", "携号转网",
                  "宽带报装", "积分兑换"])
    body = r.pick([f"您本次{biz}的随机密码为：{c}，请妥善保管，不要告诉他人",
                   f"您正在{biz}，短信随机码{c}，{validity(r)}",
                   f"尊敬的客户，您{biz}的验证码是{c}，工作人员不会向您索取",
                   f"您的{biz}动态密码为{c}，如非本人操作请拨打{hot}"])
    return r.vary(r.sig(tel, body + r.pick(["。", "。", ""]), 0.05))


@family(L, "ver_new_device")
def new_device(r):
    app, c = r.pick(APPS), r.code(4, 6)
    dev = r.pick(["新设备", "新手机", "iPhone 15", "HUAWEI Mate 60", "网页端", "电脑端", "平板设备", "小米14"])
    body = r.pick([f"您的账号正在{dev}上登录，验证码{c}",
                   f"检测到您在{dev}登录{app}，验证码为{c}",
                   f"您正在{dev}上进行登录操作，验证码：{c}"])
    extra = r.pick(["若非本人操作，请立即修改密码", "如非本人操作，建议尽快修改密码", r.pick(IGNORE), r.pick(WARN)])
    return r.vary(r.sig(app, f"{body}，{validity(r)}。{extra}。", 0.1))


@family(L, "ver_staff_never_ask")
def staff_never_ask(r):
    app, c = r.pick(APPS + [b for b, _ in BANKS[:10]]), r.code(4, 6)
    short = app[:2] if len(app) > 3 and r.random() < 0.3 else app
    body = r.pick([f"您的验证码是{c}，{validity(r)}。{short}工作人员不会向您索要，请勿向任何人泄露",
                   f"验证码{c}。{short}客服不会以任何理由向您索取验证码，谨防诈骗",
                   f"验证码：{c}，{validity(r)}。任何索要验证码的都是骗子，千万别给"])
    return r.vary(r.sig(app, body + r.pick(["。", "！", ""])))


@family(L, "ver_bindcard_realname")
def bindcard(r):
    app, c = r.pick(["支付宝", "微信支付", "美团", "京东金融", "云闪付", "翼支付", "抖音支付", "拼多多", "滴滴出行",
                     "携程旅行", "度小满", "招联金融", "马上消费金融"]), r.code(6, 6)
    bank = r.pick(BANKS)[0]
    op = r.pick([f"绑定{bank}储蓄卡（尾号{r.tail()}）", f"添加尾号{r.tail()}的银行卡", "进行实名认证",
                 "申请借款", "开通快捷支付", f"绑定{bank}信用卡"])
    body = r.pick([f"您正在{op}，验证码为{c}", f"验证码{c}，用于{op}", f"{c}是您{op}的验证码"])
    return r.vary(r.sig(app, f"{body}，{validity(r)}，{r.pick(WARN)}。", 0.05))


# ---- test families: structurally different from the above ----

@family(L, "ver_terse", split="test")
def terse(r):
    app, c = r.pick(APPS + EN_APPS[:6]), r.code(4, 8)
    body = r.pick([f"验证码 {c}", f"校验码{c}，请在页面输入", f"code: {c}", f"本次验证码{c}",
                   f"动态码{c}（仅限本次使用）", f"您的登录码：{c}", f"验证码{c}，勿告他人", f"{c}（验证码）"])
    return r.sig(app, body, 0.1)


@family(L, "ver_structured", split="test")
def structured(r):
    app, c, m = r.pick(APPS + GOV), r.code(4, 8), minutes(r)
    p = r.pick(PURPOSES)
    sep = r.pick(["｜", "；", " | ", "，"])
    fields = [f"验证码：{c}", f"用途：{p}", f"有效期：{m}分钟", r.maybe(0.6, "提示：切勿泄露"),
              r.maybe(0.4, f"时间：{r.md(3)} {r.hm()}")]
    return r.sig(app, sep.join(f for f in fields if f))


@family(L, "ver_transaction_confirm", split="test")
def transaction_confirm(r):
    if r.random() < 0.5:
        sender, hot = r.pick(BANKS)
    else:
        sender, hot = r.pick(["支付宝", "微信支付", "云闪付", "京东金融"]), r.pick(["95188", "95017", "95516", "95118"])
    amt, c = r.amount(10, 80000), r.code(6, 6)
    payee = r.pick(["某某商户", "财付通-美团", "京东商城", "滴滴出行", "中国石化加油站", r.masked_name(), "淘宝（中国）"])
    body = r.pick([f"您正在向{payee}付款{amt}元，确认码{c}。请核对收款方信息，如非本人操作请致电{hot}",
                   f"提现{amt}元到尾号{r.tail()}银行卡，请输入确认码{c}完成操作，{hot}全天为您服务",
                   f"交易确认：收款方{payee}，金额￥{amt}，校验码{c}。看清金额再输入，不认识的人索要请拒绝"])
    return r.sig(sender, body + "。", 0.05)


@family(L, "ver_gov_service", split="test", weight=0.7)
def gov_service(r):
    g, c, m = r.pick(GOV), r.code(6, 6), minutes(r)
    biz = r.pick(["个人所得税App注册", "社保卡申领", "公积金提取", "驾驶证电子证照申领", "不动产登记查询",
                  "学历认证报告申请", "征信报告查询", "医保电子凭证激活", "居住证办理预约", "机动车检验预约"])
    body = r.pick([f"您正在办理{biz}业务，本次短信校验码为{c}，{m}分钟内有效。如非本人办理，请及时拨打12345反映。",
                   f"尊敬的用户：{c}为本次{biz}的身份核验码，有效时间{m}分钟，请不要提供给任何人。",
                   f"{biz}身份确认码 {c}（{m}分钟后失效）。政府部门不会电话索要校验码。"])
    return r.sig(g, body)
