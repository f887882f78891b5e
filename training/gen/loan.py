"""LOAN_MARKETING: licensed lenders' and banks' loan / installment marketing."""
from .common import family, BANKS

L = "LOAN_MARKETING"
LENDERS = ["招联金融", "马上消费金融", "中邮消费金融", "兴业消费金融", "中银消费金融", "北银消费金融", "苏宁消费金融",
           "海尔消费金融", "平安普惠", "度小满", "微粒贷", "借呗", "京东金条", "美团借钱", "安逸花", "360借条",
           "分期乐", "还呗", "省呗", "拍拍贷", "宜人贷", "小赢卡贷", "奇富借条", "有钱花", "抖音放心借", "滴滴金融"]
BANK_LOANS = {"招商银行": "闪电贷", "建设银行": "快贷", "工商银行": "融e借", "农业银行": "网捷贷", "平安银行": "新一贷",
              "中国银行": "中银E贷", "交通银行": "惠民贷", "邮储银行": "邮享贷", "中信银行": "信秒贷", "浦发银行": "浦银点贷",
              "宁波银行": "白领通", "光大银行": "光速贷", "民生银行": "民易贷", "兴业银行": "兴闪贷"}


def sender(r):
    if r.random() < 0.35:
        bank = r.pick(list(BANK_LOANS))
        return bank, BANK_LOANS[bank]
    s = r.pick(LENDERS)
    return s, s


def limit(r):
    return r.pick([f"{r.round_amount(5000, 300000, 1000):,}元", f"{r.randint(2, 30)}万元", f"{r.randint(1, 20)}万"])


def rate(r, bank=False):
    if bank:
        return r.pick([f"年化利率{r.pick(['2.98', '3.2', '3.45', '3.6', '3.85', '4.2', '4.5'])}%起",
                       f"年化利率(单利)低至{r.pick(['3.1', '3.5', '3.65', '4.0'])}%"])
    return r.pick([f"年化利率{r.pick(['3.6', '4.5', '6.8', '7.2', '9.9', '10.8', '12', '18', '23.9'])}%起",
                   f"日息低至{r.pick(['0.02', '0.03', '0.035', '0.045', '0.05'])}%",
                   f"年化利率(单利){r.pick(['7.3', '10.95', '14.6', '18.25'])}%起",
                   f"月息{r.pick(['0.5', '0.6', '0.75', '0.8'])}%起"])


def tail(r, url_p=0.35):
    url = r.maybe(url_p, r.pick(["，戳 ", "，详情 ", " 申请 ", "，立即查看 ", " "]) + r.short_url() + " ")
    return url + r.pick(["，", "。", " ", "！"]) + r.optout()


@family(L, "loan_credit_line_offer", weight=1.3)
def credit_line(r):
    s, prod = sender(r)
    body = r.pick([f"恭喜您获得{prod}备用金额度{limit(r)}，随借随还，按日计息，{rate(r)}",
                   f"您的{prod}额度已更新，最高可借{limit(r)}，{rate(r)}，最快1分钟到账",
                   f"尊敬的客户，您已获得{prod}预授信额度{limit(r)}，{r.pick(['线上申请无需抵押', '随借随还', '最长可分36期'])}，{rate(r)}",
                   f"{r.surname()}{r.pick(['先生', '女士'])}，您的专属{prod}额度{limit(r)}已生成，{rate(r)}，以实际审批为准"])
    return r.vary(r.sig(s, body + tail(r), 0.08))


@family(L, "loan_bank_consumer")
def bank_consumer(r):
    bank = r.pick(list(BANK_LOANS))
    prod = BANK_LOANS[bank]
    body = r.pick([f"{prod}线上申请，{rate(r, True)}，最高{limit(r)}，资金可用于装修、旅游、教育等合法消费",
                   f"代发工资客户专享{prod}，{rate(r, True)}，凭手机银行即可申请，额度最高{limit(r)}",
                   f"公积金客户可申请{prod}，{rate(r, True)}，{r.pick(['最长可分5年', '随借随还', '无需担保'])}，详询当地网点"])
    return r.vary(r.sig(bank, body + tail(r, 0.2), 0.05))


@family(L, "loan_card_installment", weight=1.2)
def installment(r):
    bank, hot = r.pick(BANKS)
    amt = r.amount(1000, 80000, 2)
    n = r.pick([3, 6, 12, 24])
    per = float(amt.replace(",", "")) / n * r.uniform(1.01, 1.08)
    body = r.pick([f"您本期账单{amt}元可申请分期，{r.pick([3, 6, 12, 24])}期手续费{r.pick(['5折', '7折', '8折'])}优惠，回复“FQ”即可办理",
                   f"尊敬的持卡人，您有一笔{amt}元消费可办理分期，分{n}期每期仅还{per:,.2f}元，活动截至{r.md(0)}",
                   f"现金分期限时特惠，最高{limit(r)}直接转入借记卡，{r.pick([12, 24, 36])}期费率低至{r.pick(['0.25', '0.3', '0.35'])}%",
                   f"账单分期享{r.pick(['首期免息', '手续费8折', '最长36期'])}，详询{hot}或登录手机银行"])
    return r.vary(r.sig(bank, body + tail(r, 0.15), 0.05))


@family(L, "loan_limit_raise")
def limit_raise(r):
    s, prod = sender(r)
    body = r.pick([f"好消息！您的{prod}额度已提升至{limit(r)}，{r.pick(['今日借款享利息8折', '首借免息7天', '支持最长24期'])}",
                   f"您的信用良好，{prod}为您临时提额{r.pick([5000, 10000, 20000, 30000])}元，有效期{r.randint(30, 90)}天",
                   f"提额成功：{prod}可用额度{limit(r)}，{rate(r)}"])
    return r.vary(r.sig(s, body + tail(r), 0.08))


@family(L, "loan_coupon")
def coupon(r):
    s, prod = sender(r)
    body = r.pick([f"送您一张{r.pick(['30天免息券', '7天免息券', '利息8折券', '利息券'])}，借款即可使用，{rate(r)}",
                   f"您的{prod}利息券即将到期，{r.md(0)}前借款可抵扣利息最高{r.pick([50, 100, 200, 500])}元",
                   f"新户首借{r.pick(['享30天免息', '利率低至5折', '送100元还款券'])}，{prod}最高可借{limit(r)}"])
    return r.vary(r.sig(s, body + tail(r), 0.08))


# ---- test families ----

@family(L, "loan_business_owner", split="test")
def business(r):
    s = r.pick(["网商银行", "微众银行", "新网银行", "百信银行", "招商银行", "建设银行", "平安银行", "度小满", "中国银行"])
    who = r.pick(["小微企业主", "个体工商户", "商户", "店主"])
    body = r.pick([f"尊敬的{who}：经营贷最高可申请{limit(r)}，凭营业执照线上申请，{rate(r, '银行' in s)}，可用于进货周转",
                   f"{who}您好，您的经营性贷款预审批额度{limit(r)}已出，期限最长{r.pick([12, 24, 36])}个月，按日计息，随借随还"])
    return r.sig(s, body + "。" + r.optout(), 0.1)


@family(L, "loan_dormant_reactivate", split="test")
def dormant(r):
    s, prod = sender(r)
    body = r.pick([f"您的{prod}额度{limit(r)}已闲置{r.randint(30, 180)}天，{r.md(0)}前激活可享{r.pick(['首期息费减免', '利率优惠', '免息3天'])}",
                   f"您在{prod}的{limit(r)}额度将于{r.randint(3, 15)}天后失效，如有资金需求可在App内查看（{rate(r)}）",
                   f"账户额度保留提醒：{prod}为您保留额度{limit(r)}，过期将重新评估。借款请理性，量力而行"])
    return r.sig(s, body + "，" + r.optout(), 0.1)
