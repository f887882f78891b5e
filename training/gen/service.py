"""SERVICE (part 1): bank alerts, bills, telecom, parcels, travel, repayment reminders."""
from .common import family, BANKS, TELCOS, COURIERS, PICKUP, AIRLINES, AIRPORTS, STATIONS, HOTELS

L = "SERVICE"
END = ["。", "。", "", "！"]


def end(r):
    """Optional courtesy clause, then the final punctuation."""
    extra = r.maybe(0.25, "。" + r.pick(["感谢您的使用", "祝您生活愉快", "感谢您的支持", "如有疑问请咨询官方客服",
                                          "详情可登录官方App查询", "此短信无需回复"]))
    return extra + r.pick(END)


def track(r, courier):
    name, prefix, n, hot = courier
    return prefix + r.digits(n - len(prefix) if prefix.isdigit() else n)


@family(L, "svc_bank_txn", weight=1.6)
def bank_txn(r):
    bank, hot = r.pick(BANKS)
    t, d = r.tail(), r.md()
    when = d + (" " if d[-1].isdigit() else r.pick(["", " "])) + r.hm()
    kind = r.pick(["支出", "支出", "收入", "消费", "转出", "转入", "代扣", "退款"])
    if kind in ("收入", "转入", "退款"):
        memos = ["（工资）", "（代发）", "（转账）", "（跨行汇款）", "（报销）", "（支付宝-退款）", "（利息）"]
    else:
        memos = ["（财付通-微信零钱充值）", "（支付宝-美团外卖）", "（ATM取款）", "（网上支付）", "（京东支付）",
                 "（转账）", "（快捷支付）", "(水电费)", "（中国石化）", "（滴滴出行）"]
    memo = r.maybe(0.5, r.pick(memos))
    c = r.random() < 0.6
    amt, bal = r.amount(1, 30000, comma=c), r.amount(0, 200000, 2, c)
    acct = r.pick(["账户", "借记卡", "储蓄卡", "借记卡", "一卡通"])
    body = r.pick([f"您尾号{t}的{acct}于{when}{kind}人民币{amt}元{memo}，余额{bal}元",
                   f"您尾号为{t}的{acct}{when}{kind}{amt}元{memo}，可用余额{bal}元",
                   f"您账户{t}于{when}{kind}人民币{amt}元{memo}，余额{bal}",
                   f"{when}您尾号{t}{acct}{kind}{amt}元{memo}。活期余额{bal}元"])
    return r.vary(r.sig(bank, body + end(r), 0.06))


@family(L, "svc_credit_card_bill")
def cc_bill(r):
    bank, hot = r.pick(BANKS)
    t, total = r.tail(), r.amount(100, 60000, 2)
    mini = f"{float(total.replace(',', '')) / 10:,.2f}"
    due = r.md(r.pick([0, 1, 2]))
    body = r.pick([f"您尾号{t}的信用卡本期账单金额为{total}元，最低还款额{mini}元，到期还款日{due}",
                   f"尊敬的客户，您的信用卡{r.pick(['11月', '12月', '6月', '本期', '3月'])}账单已出，应还{total}元，"
                   f"最低还{mini}元，请于{due}前还款",
                   f"您的信用卡（尾号{t}）本期应还款{total}元，到期还款日{due}，可通过手机银行还款",
                   f"温馨提示：尾号{t}信用卡账单{total}元将于{due}到期，若已设置自动还款请确保借记卡余额充足"])
    extra = r.maybe(0.3, r.pick([f"，详询{hot}", "，如已还款请忽略", "，感谢您的用卡"]))
    return r.vary(r.sig(bank, body + extra + end(r), 0.05))


def bill(r):
    base, other = r.pick([39, 58, 88, 128, 129, 199]), r.randint(0, 3000) / 100
    return f"您{r.randint(1, 12)}月话费账单：套餐费{base}.00元，其他费用{other:.2f}元，合计{base + other:.2f}元"


@family(L, "svc_telecom_usage", weight=1.2)
def telecom(r):
    tel, hot = r.pick(TELCOS)
    body = r.pick([
        f"尊敬的客户，截至{r.md(0)}{r.hm()}，您本月已使用流量{r.randint(1, 80)}.{r.randint(0, 99):02d}GB，"
        f"剩余{r.randint(0, 60)}.{r.randint(0, 99):02d}GB",
        f"您的话费余额为{r.amount(0, 50, 2, False)}元，为避免影响使用，请及时充值。充值可登录{tel}App",
        bill(r),
        f"您已成功充值{r.pick([30, 50, 100, 200])}元，当前余额{r.amount(30, 400, 2, False)}元，感谢使用",
        f"您本月套餐内通话剩余{r.randint(0, 500)}分钟，国内流量剩余{r.randint(0, 40)}GB，"
        f"查询详情请发送CXLL至{hot}",
        f"您的流量已使用套餐内的{r.pick([80, 90, 100])}%，超出部分按{r.pick(['3元/GB', '5元/GB', '0.29元/MB'])}收费"])
    return r.vary(r.sig(tel, body + end(r), 0.04))


@family(L, "svc_utility_bill")
def utility(r):
    city = r.city()
    who = r.pick(["国家电网", "南方电网", f"{city}水务", f"{city}自来水", f"{city}燃气", "华润燃气", "港华燃气",
                  "新奥燃气", f"{city}供电局", f"{city}热力"])
    unit = {"电": ("度", "电费"), "水": ("吨", "水费"), "气": ("立方米", "燃气费"), "热": ("平方米", "采暖费")}
    k = "电" if "电" in who else "水" if "水" in who else "热" if "热" in who else "气"
    u, fee = unit[k]
    acct = r.pick([f"户号{r.digits(10)}", f"户号尾号{r.tail()}", f"{r.community()}{r.randint(1, 30)}-{r.randint(101, 2802)}"])
    amt = r.amount(10, 900, 2, False)
    body = r.pick([f"您的{fee}账单已出（{acct}），本期用量{r.randint(5, 600)}{u}，应缴{amt}元，请及时缴费",
                   f"尊敬的用户，{acct}本期{fee}{amt}元，缴费截止日期{r.md(0)}，可通过网上国网或支付宝缴纳",
                   f"{acct}已成功缴纳{fee}{amt}元，账户余额{r.amount(0, 300, 2, False)}元",
                   f"您家（{acct}）{fee}余额不足{r.pick([10, 20, 30])}元，为避免影响正常使用，请及时充值"])
    return r.vary(r.sig(who, body + end(r), 0.05))


@family(L, "svc_parcel_pickup", weight=1.4)
def parcel_pickup(r):
    who = r.pick(PICKUP + PICKUP)
    code = r.pick([r.digits(6), f"{r.randint(1, 30)}-{r.randint(1, 6)}-{r.randint(1000, 9999)}",
                   r.digits(8), f"{r.randint(1, 9)}-{r.randint(1, 99)}-{r.digits(4)}"])
    box = "丰巢柜" if who == "丰巢" else "驿站" if "驿站" in who else r.pick(["快递柜", "代收点", "便利店代收点"])
    place = r.pick([f"{r.community()}{box}", f"{r.community()}{r.pick(['北门', '东侧', '地下车库入口', '物业旁'])}{box}"])
    body = r.pick([f"您的快件已存入{place}，取件码{code}，请及时取件",
                   f"凭取件码{code}到{place}取件，{r.pick(['营业时间9:00-21:00', '24小时可取', '超时将收取保管费'])}",
                   f"您有{r.randint(1, 4)}个包裹已到{place}，取件码：{code}",
                   f"{r.pick([c[0] for c in COURIERS])}包裹（尾号{r.tail()}）已到{place}，请凭{code}取件"])
    return r.vary(r.sig(who, body + end(r), 0.08))


@family(L, "svc_parcel_transit", weight=1.2)
def parcel_transit(r):
    c = r.pick(COURIERS)
    no, hot, city = track(r, c), c[3], r.city()
    courier = r.pick(["王师傅", "李师傅", "快递员" + r.surname() + "师傅", "派件员"])
    body = r.pick([f"您的快件{no}已由{city}转运中心发出，预计{r.pick(['明日', '今日', '后天'])}送达",
                   f"您的快件{no}正在派送中，{courier}（{r.mobile()}）将为您派送，请保持电话畅通",
                   f"您的快件{no}已签收，签收人：{r.pick(['本人', '家门口', '快递柜', '物业', '前台'])}。如有疑问请致电{hot}",
                   f"运单{no}已到达{city}{r.pick(['营业部', '分拨中心', '集散中心'])}，正在安排派送",
                   f"您购买的商品已由{c[0]}揽收，运单号{no}，可在{c[0]}App查看物流"])
    return r.vary(r.sig(c[0], body + end(r), 0.05))


@family(L, "svc_flight")
def flight(r):
    air, code = r.pick(AIRLINES)
    fl = f"{code}{r.randint(1000, 9999)}"
    a, b = r.pick(AIRPORTS), r.pick(AIRPORTS)
    seller = r.pick([air, air, air, "携程旅行", "去哪儿旅行", "飞猪", "航旅纵横", "同程旅行"])
    body = r.pick([f"您预订的{r.md(r.pick([0, 1, 4]))}{fl}航班（{a}-{b}）已出票，起飞时间{r.hm()}，请提前2小时到达机场",
                   f"您乘坐的{fl}航班因{r.pick(['天气原因', '航空管制', '前序航班延误', '机械故障'])}延误，"
                   f"预计起飞时间{r.hm()}，给您带来不便敬请谅解",
                   f"{fl}航班已开放网上值机，请通过{air}App或小程序办理，{a}机场T{r.randint(1, 3)}航站楼",
                   f"您的航班{fl}登机口变更为{r.randint(1, 80)}{r.pick(['', 'A', 'B'])}号，登机时间{r.hm()}",
                   f"退票成功：{fl}航班机票已退，退款{r.amount(200, 3000, 2)}元将原路退回"])
    return r.vary(r.sig(seller, body + end(r), 0.05))


@family(L, "svc_rail")
def rail(r):
    tr = r.pick(["G", "D", "G", "C", "K", "Z"]) + str(r.randint(1, 2999))
    a, b = r.pick(STATIONS), r.pick(STATIONS)
    seat = f"{r.randint(1, 16)}车{r.randint(1, 20):02d}{r.pick('ABCDF')}号"
    name = r.masked_name()
    body = r.pick([f"订单E{r.digits(9)}，{name}您已购{r.md(0)}{tr}次{seat}，{a}站{r.hm()}开。检票口{r.randint(1, 28)}",
                   f"{name}您好，您乘坐的{tr}次列车{r.pick(['检票口变更为', '正在检票，检票口'])}{r.pick('ABCD')}{r.randint(1, 20)}，请留意车站广播",
                   f"您已成功退票，{tr}次{a}-{b}，退款{r.amount(20, 900, 1, False)}元，将于{r.randint(1, 15)}个工作日内退回",
                   f"您候补的{r.md(0)}{tr}次{a}-{b}车票已兑现成功，{seat}，请按时乘车",
                   f"温馨提示：您乘坐的{tr}次列车{r.hm()}从{a}站开出，请合理安排出行时间"])
    return r.vary(r.sig(r.pick(["铁路12306", "12306", "中国铁路"]), body + end(r), 0.05))


@family(L, "svc_hotel")
def hotel(r):
    h = r.pick(HOTELS)
    city = r.city()
    who = r.pick([h, "携程旅行", "美团酒店", "飞猪", "华住会", "同程旅行"])
    d, n = r.randint(1, 27), r.randint(1, 3)
    m = r.randint(1, 12)
    tel = f"0{r.pick(['10', '21', '20', '755', '571', '28', '27', '25', '29', '532'])}-{r.digits(8, False)}"
    store = f"{h}（{city}{r.pick(['火车站', '市中心', '机场', '大学城', '会展中心', '万达广场'])}店）"
    body = r.pick([f"您预订的{store}{r.md(0)}入住{r.randint(1, 5)}晚已确认，订单号{r.digits(10)}，房型{r.pick(['高级大床房', '标准双床房', '商务套房'])}",
                   f"您在{store}的订单已取消，房费{r.amount(150, 2000, 2)}元将原路退回",
                   f"{store}欢迎您！您的房间号{r.randint(2, 30)}{r.randint(1, 30):02d}，早餐时间7:00-10:00，Wi-Fi密码{r.digits(8)}",
                   f"您的订单{r.digits(12)}：{store}，入住{m:02d}-{d:02d}，离店{m:02d}-{d + n:02d}，前台电话{tel}"])
    return r.vary(r.sig(who, body + end(r), 0.05))


@family(L, "svc_loan_repay_due")
def loan_due(r):
    who = r.pick(["招联金融", "马上消费金融", "中邮消费金融", "度小满", "京东金融", "美团月付", "分期乐", "微众银行",
                  "兴业消费金融", "宁波银行", "招商银行", "建设银行", "平安银行", "安逸花", "苏宁消费金融"])
    amt, due = r.amount(100, 20000, 2), r.md(r.pick([0, 1]))
    kind = r.pick(["房贷", "车贷", "消费贷", "经营贷"]) if "银行" in who else r.pick(["借款", "分期借款", "消费贷"])
    body = r.pick([f"您的借款本期应还{amt}元，还款日{due}，系统将自动从尾号{r.tail()}银行卡扣款，请确保余额充足",
                   f"温馨提醒：您本月账单{amt}元将于{due}到期，可在App内主动还款，如已还款请忽略",
                   f"您好，您的贷款第{r.randint(1, 36)}期已于{due}还款成功，金额{amt}元，感谢您的信任",
                   f"您的{kind}本期还款额{amt}元，将于{due}扣款，请于前一日存入足额资金"])
    return r.vary(r.sig(who, body + end(r), 0.05))


@family(L, "svc_bank_statement_alt", split="test", weight=1.3)
def bank_alt(r):
    bank, hot = r.pick(BANKS)
    c = r.random() < 0.6
    t, amt, bal = r.tail(), r.amount(1, 60000, 2, c), r.amount(0, 300000, 2, c)
    d = f"{r.randint(1, 12):02d}/{r.randint(1, 28):02d} {r.hm()}"
    kind = r.pick(["收入(工资)", "收入(代发)", "支出(消费)", "收入(转账)", "支出(网上支付)", "支出(ATM)", "收入(退款)",
                   "支出(自动还款)", "收入(利息)", "支出(代扣水电)"])
    body = r.pick([f"您的借记卡账户尾号{t}，于{d}{kind}人民币{amt}元，交易后余额{bal}元",
                   f"账户变动：尾号{t}｜{d}｜{kind}｜{amt}元｜余额{bal}元",
                   f"[动账通知]卡号*{t} 时间{d} 类型{kind} 金额RMB{amt} 可用{bal}",
                   f"尾号{t}账户{d}完成一笔{kind}，金额{amt}元。如有疑问请拨打{hot}"])
    return r.sig(bank, body, 0.1)
