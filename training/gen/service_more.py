"""SERVICE (part 2): hospitals, public services, orders, subscriptions; plus test families."""
from .common import family, APPS, BANKS, TELCOS

L = "SERVICE"
END = ["。", "。", "", "！"]


def end(r):
    """Optional courtesy clause, then the final punctuation."""
    extra = r.maybe(0.25, "。" + r.pick(["感谢您的使用", "祝您生活愉快", "感谢您的支持", "如有疑问请咨询官方客服",
                                          "详情可登录官方App查询", "此短信无需回复"]))
    return extra + r.pick(END)
HOSPITALS = ["北京协和医院", "华山医院", "四川大学华西医院", "中山大学附属第一医院", "浙大一院", "武汉协和医院",
             "湘雅医院", "瑞金医院", "北京大学第三医院", "南方医院", "齐鲁医院", "西京医院", "健康160", "微医",
             "好大夫在线", "京东健康"]
DEPTS = ["心内科", "消化内科", "皮肤科", "眼科", "口腔科", "骨科", "儿科", "妇产科", "呼吸内科", "耳鼻喉科", "内分泌科"]
SHOPS = ["京东", "淘宝", "天猫", "拼多多", "唯品会", "苏宁易购", "得物", "抖音商城", "盒马", "叮咚买菜", "华为商城",
         "小米商城", "网易严选", "当当网", "山姆会员商店", "美团优选"]
GOODS = ["洗衣凝珠", "保温杯", "蓝牙耳机", "运动鞋", "纸巾", "儿童绘本", "电饭煲", "手机壳", "羽绒服", "猫粮",
         "面膜", "充电宝", "四件套", "咖啡豆", "行李箱", "台灯"]


@family(L, "svc_hospital")
def hospital(r):
    h, d = r.pick(HOSPITALS), r.pick(DEPTS)
    doc = r.surname() + r.pick(["主任", "医生", "副主任医师", "教授"])
    body = r.pick([f"您已成功预约{r.md(0)}{r.pick(['上午', '下午'])}{d}{doc}号，就诊序号{r.randint(1, 60)}，请携带医保卡提前30分钟取号",
                   f"{r.masked_name()}您好，您预约的{d}门诊将于明天{r.hm()}开始，请准时就诊，如需取消请提前一天操作",
                   f"您的检查报告（{r.pick(['血常规', 'CT', '彩超', '核磁共振', '胃镜'])}）已出，可在医院公众号或自助机查询打印",
                   f"您的挂号订单已取消，挂号费{r.pick([5, 10, 25, 50, 100])}元将原路退回"])
    return r.vary(r.sig(h, body + end(r), 0.05))


@family(L, "svc_social_fund")
def social_fund(r):
    city = r.city()
    who = r.pick([f"{city}人社", f"{city}住房公积金", f"{city}医保", f"{city}社保", "电子社保卡", f"{city}公积金中心"])
    amt, pension = r.amount(300, 6000, 2), r.amount(200, 1800, 2)
    ym = f"{r.pick([2023, 2024, 2025])}年{r.randint(1, 12)}月"
    body = r.pick([f"您{ym}住房公积金已缴存{amt}元，账户余额{r.amount(1000, 200000, 2)}元",
                   f"您{ym}的养老保险已缴费成功，个人缴纳{pension}元，可在电子社保卡查询缴费明细",
                   f"您申请的公积金提取{amt}元已审核通过，将于{r.randint(1, 5)}个工作日内转入尾号{r.tail()}的银行卡",
                   f"您{ym}城乡居民医保费已缴费成功，缴费金额{r.pick([320, 350, 380, 400])}元",
                   f"您的社保卡已制作完成，请于{r.md(0)}后携带身份证到{r.pick(['社区服务中心', '合作银行网点', '人社服务大厅'])}领取"])
    return r.vary(r.sig(who, body + end(r), 0.05))


@family(L, "svc_traffic_12123")
def traffic(r):
    plate = r.pick(list("京沪粤浙苏川鄂湘豫鲁")) + r.pick(list("ABCDEF")) + r.upper(1) + r.digits(4)
    body = r.pick([f"您的机动车{plate}于{r.md(0)}{r.hm()}在{r.city()}{r.pick(['中山路', '人民大道', '环城高速', '解放路'])}"
                   f"有{r.pick(['违反禁止标线指示', '超速行驶', '违停', '不按导向车道行驶'])}的交通违法记录，请及时处理",
                   f"您的驾驶证将于{r.md(4)}有效期满，请在期满前90日内通过交管12123App申请换证",
                   f"您的机动车{plate}检验有效期至{r.md(4)}，请在检验有效期满前3个月内办理检验",
                   f"您好，您的驾驶证本记分周期已记{r.randint(0, 9)}分，请遵守交通法规，安全文明驾驶",
                   f"您办理的{r.pick(['补领驾驶证', '机动车转移登记', '车辆年检标志'])}业务已办结，请留意EMS派送"])
    sender = r.pick(["交管12123", f"{r.city()}交警", "公安交管"])
    return r.vary(r.sig(sender, body + end(r), 0.05))


@family(L, "svc_ecom_order", weight=1.3)
def ecom_order(r):
    shop, g = r.pick(SHOPS), r.pick(GOODS)
    no = r.digits(r.pick([12, 16, 18]), False)
    body = r.pick([f"您购买的{g}已发货，订单号{no}，可在{shop}App“我的订单”查看物流",
                   f"您的订单{no}退款成功，{r.amount(5, 3000, 2)}元将原路退回至支付账户，预计1-3个工作日到账",
                   f"您的订单已支付成功，实付{r.amount(5, 800, 2)}元，商家将尽快为您发货",
                   f"您购买的{g}已签收，感谢您的支持，满意请给个好评哦",
                   f"您的售后申请已通过，请在{r.randint(3, 7)}天内将商品寄回，退货地址见订单详情",
                   f"您在{shop}下单的{g}预计{r.md(0)}送达，请注意查收"])
    return r.vary(r.sig(shop, body + end(r), 0.06))


@family(L, "svc_subscription")
def subscription(r):
    amt = r.pick(["15", "19.8", "25", "30", "68", "88", "198", "248", "12"])
    if r.random() < 0.35:
        who, hot = r.pick(TELCOS)
        body = r.pick([f"您已成功订购{r.pick(['5G畅享', '全家享', '流量加油包', '视频彩铃', '云盘'])}{amt}元业务，次月生效",
                       f"您已成功退订{r.pick(['视频彩铃', '流量包', '来电提醒', '139邮箱'])}业务，次月起不再收取费用，详询{hot}",
                       f"您办理的{r.pick(['副卡', '宽带续约', '合约机'])}业务已生效，合约期{r.pick([12, 24])}个月"])
    else:
        who = r.pick(["爱奇艺", "腾讯视频", "优酷", "芒果TV", "网易云音乐", "QQ音乐", "哔哩哔哩", "喜马拉雅", "百度网盘",
                      "京东PLUS", "淘宝88VIP", "美团", "饿了么", "WPS", "Keep"])
        body = r.pick([f"您已成功开通{who}会员，有效期至{r.md(4)}，感谢您的支持",
                       f"您的连续包月将于{r.md(0)}自动续费{amt}元，如需取消可在“账号设置-自动续费”中关闭",
                       f"您已成功关闭自动续费，会员权益保留至{r.md(4)}",
                       f"您的会员将于{r.randint(1, 7)}天后到期，到期后将无法继续享受会员权益"])
    return r.vary(r.sig(who, body + end(r), 0.05))


@family(L, "svc_cinema_ticket", weight=0.7)
def cinema(r):
    who = r.pick(["猫眼电影", "淘票票", "万达电影", "CGV影城", "大麦", "美团", "大地影院", "金逸影城"])
    cinema_name = who if "影" in who and "电影" not in who else r.pick(["万达影城", "金逸影城", "大地影院", "CGV影城"])
    show = who in ("猫眼电影", "大麦", "美团", "淘票票")
    body = r.pick([f"您已成功购买{r.md(0)}{r.hm()}《{r.pick(['热辣滚烫', '流浪地球2', '飞驰人生', '长安三万里', '封神'])}》"
                   f"{r.randint(1, 12)}号厅{r.randint(1, 15)}排{r.randint(1, 20)}座，取票码{r.digits(8)}",
                   f"您购买的{r.city()}演唱会门票已出票，入场凭证码{r.digits(10)}，请凭身份证入场" if show else
                   f"您的{r.pick(['观影', '影城会员卡'])}积分已到账，当前可用{r.randint(100, 3000)}分，可在影城小程序查看",
                   f"取票码{r.digits(6)}，{cinema_name}{r.city()}{r.pick(['万达广场', '天街', '大悦城', '印象城'])}店，请提前15分钟取票"])
    return r.vary(r.sig(who, body + end(r), 0.05))


@family(L, "svc_bank_kyc", weight=0.8)
def bank_kyc(r):
    """Banks' customer-information notices (annual due-diligence review, ID document expiry, reserved
    details to update): legitimate, and worded much like phishing (账户, 身份信息, 核验, 更新), but they
    send the customer to a branch, the bank's own App or its 955xx line, never to a link or a person."""
    bank, hot = r.pick(BANKS)
    t = r.tail()
    acct = r.pick(["账户", "借记卡", "储蓄卡", "一卡通", "账户"])
    review = r.pick(["年度信息核验", "客户身份信息年度复核", "身份信息核实", "年度客户信息复核", "客户信息核验"])
    where = r.pick(["携带本人有效身份证件至我行任一网点", f"登录{bank}App在“我的-个人信息”中", "通过手机银行",
                    f"登录{bank}App或到就近网点"])
    doc = r.pick(["身份证件", "居民身份证", "身份证件信息"])
    hint = r.maybe(0.4, "，" + r.pick(["我行不会通过短信发送链接", "我行工作人员不会向您索要验证码或密码",
                                       "请勿向他人透露验证码", "请认准官方渠道"]))
    body = r.pick([
        f"尊敬的客户，您尾号{t}的{acct}已完成{review}，无需您进行任何操作{hint}",
        f"根据反洗钱相关监管规定，我行正在开展{review}。您的信息已核验通过，感谢您的配合",
        f"您在我行预留的{doc}将于{r.md(1)}到期，为免影响{acct}正常使用，请及时{where}更新{hint}",
        f"您在我行预留的{doc}已过期，请{where}办理更新，逾期可能暂停非柜面交易。详询{hot}",
        f"您尾号{t}的{acct}{review}已完成，如信息有变化请{where}更新。详询{hot}",
        f"温馨提示：按监管要求，我行将对客户身份信息进行{review}，请您{where}核对职业、地址等信息{hint}",
        f"您的{review}已于{r.md(0)}办理成功，{acct}各项功能正常使用{hint}",
    ])
    return r.vary(r.sig(bank, body + end(r), 0.06))


# ---- test families ----

@family(L, "svc_security_notice", split="test")
def security_notice(r):
    who = r.pick(APPS + [b for b, _ in BANKS])
    dev = r.pick(["iPhone", "华为手机", "Windows电脑", "Mac", "安卓设备", "iPad"])
    body = r.pick([f"您的账号于{r.md(0)}{r.hm()}在{r.city()}的{dev}上登录。如不是您本人，请尽快在App内修改密码",
                   f"您的登录密码已于{r.md(1)}{r.hm()}修改成功。如非本人操作，请致电官方客服",
                   f"提醒：您的账户绑定手机号已变更为{r.masked_mobile()}，若有疑问请在App内联系人工客服",
                   "我们注意到您已较长时间未登录，为保障账户安全，已为您开启登录保护，无需任何操作",
                   f"您已成功解绑设备“{dev}”。该设备将无法再使用快捷登录"])
    return r.sig(who, body + "。", 0.1)


@family(L, "svc_car_service", split="test")
def car_service(r):
    shop = f"{r.city()}{r.pick(['一汽-大众', '广汽丰田', '东风日产', '比亚迪', '上汽大众', '吉利', '宝马', '奔驰', '长安'])}"
    shop += r.pick(["4S店", "特约服务站", "授权服务中心"])
    plate = r.pick(list("京沪粤浙苏川鄂")) + r.upper(1) + r.digits(5)
    body = r.pick([f"尊敬的{r.person()}，您的爱车{plate}已到保养周期（当前里程约{r.randint(5, 12)}万公里），"
                   f"已为您预约{r.md(0)}{r.hm()}进店，如需改期请回电",
                   f"您的车辆{plate}保养已完成，共计费用{r.amount(300, 3000, 2)}元，欢迎随时取车",
                   f"{plate}的交强险将于{r.md(0)}到期，续保请联系您的专属顾问{r.surname()}经理",
                   f"感谢您今日到店，您本次维修工单号{r.upper(2)}{r.digits(8)}，如对服务有任何意见欢迎反馈"])
    return shop + "：" + body + "。" if r.random() < 0.4 else f"【{shop}】{body}。"


@family(L, "svc_tax_notice", split="test", weight=0.8)
def tax(r):
    who = r.pick(["个人所得税", f"国家税务总局{r.city()}市税务局", f"{r.city()}税务", "电子税务局"])
    yr = r.pick([2023, 2024])
    body = r.pick([f"您{yr}年度个人所得税综合所得汇算已申报成功，应退税额{r.amount(10, 6000, 2)}元，退税将在审核后退至您指定的银行账户",
                   f"您的{yr}年度汇算退税{r.amount(10, 6000, 2)}元已办结，请注意查收尾号{r.tail()}的银行卡",
                   f"尊敬的纳税人，您{yr}年度综合所得年度汇算可在个税App中办理，截止日期为6月30日",
                   f"您的企业{r.pick(['季度', '月度'])}增值税申报期截止至{r.md(0)}，请按时通过电子税务局申报"])
    return r.sig(who, body + "。", 0.05)


@family(L, "svc_insurance_policy", split="test")
def insurance(r):
    who = r.pick(["中国人寿", "中国平安", "太平洋保险", "泰康人寿", "新华保险", "中国人保", "友邦保险", "众安保险"])
    pol = r.upper(1) + r.digits(11)
    body = r.pick([f"尊敬的客户，您的保单{pol}续期保费{r.amount(200, 20000, 2)}元将于{r.md(0)}从尾号{r.tail()}的账户扣款",
                   f"您提交的理赔申请（案件号{r.digits(12)}）已结案，赔付金额{r.amount(100, 50000, 2)}元",
                   f"您投保的{r.pick(['车险', '百万医疗险', '重疾险', '意外险'])}已生效，电子保单已发送至您的邮箱",
                   f"您的保单{pol}保障期至{r.md(4)}，请留意续保"])
    return r.sig(who, body + "。", 0.06)


@family(L, "svc_ride_receipt", split="test", weight=0.8)
def ride(r):
    who = r.pick(["滴滴出行", "高德打车", "曹操出行", "T3出行", "美团外卖", "饿了么", "哈啰", "货拉拉"])
    if "外卖" in who or who == "饿了么":
        body = r.pick([f"您的外卖订单已送达，骑手{r.surname()}师傅期待您的五星好评",
                       f"骑手已取餐，预计{r.hm()}送达，骑手电话尾号{r.tail()}"])
    else:
        body = r.pick([f"行程已结束，本次车费{r.amount(8, 300, 2)}元已从您的账户扣除，车牌尾号{r.tail()}",
                       f"司机{r.surname()}师傅已接单，车辆{r.pick(['白色', '黑色', '银色'])}{r.pick(['比亚迪秦', '大众朗逸', '丰田卡罗拉'])}，"
                       f"约{r.randint(1, 9)}分钟后到达上车点",
                       f"您的行程发票（{r.amount(8, 900, 2)}元）已开具，可在“我的-发票”中下载"])
    return r.sig(who, body + "。", 0.05)
